/* graph_fields.h - every call-record field callscope keeps, as one table.
 *
 * A row: X(ENUM, BASE, PATH, COLUMN, TYPE, PII)
 *   BASE    member of the node the path starts from (NULL: the node itself)
 *   PATH    dotted JSON path below BASE; '|' separates alternatives tried in
 *           order (newer shape first: associatedIdentity before identity)
 *   COLUMN  SQLite column in the node's graph_* table
 *   TYPE    how the JSON value is read (graph_type_t)
 *   PII     GP_NONE plain, GP_ENC encrypted, GP_LOOKUP encrypted plus an
 *           HMAC lookup column (docs/graph.md)
 * The parser, the schema and the store are all driven by these lists, so a
 * field is added in one place.
 */
#ifndef CALLSCOPE_GRAPH_FIELDS_H
#define CALLSCOPE_GRAPH_FIELDS_H

/* An endpoint (session or segment caller/callee). */
#define GRAPH_EP_FIELDS(X, E, B, C)                                                                \
    X(E##ODATA_TYPE, B, "@odata.type", C "odata_type", GT_STR, GP_NONE)                            \
    X(E##UA_HEADER, B, "userAgent.headerValue", C "ua_header", GT_STR, GP_NONE)                    \
    X(E##UA_VERSION, B, "userAgent.applicationVersion", C "ua_version", GT_STR, GP_NONE)           \
    X(E##UA_PLATFORM, B, "userAgent.platform", C "ua_platform", GT_STR, GP_NONE)                   \
    X(E##UA_FAMILY, B, "userAgent.productFamily", C "ua_family", GT_STR, GP_NONE)                  \
    X(E##UA_ROLE, B, "userAgent.role", C "ua_role", GT_STR, GP_NONE)                               \
    X(E##UA_APP_ID, B, "userAgent.azureADAppId", C "ua_app_id", GT_STR, GP_NONE)                   \
    X(E##USER_ID, B, "associatedIdentity.id|identity.user.id", C "user_id", GT_STR, GP_LOOKUP)     \
    X(E##USER_NAME, B, "associatedIdentity.displayName|identity.user.displayName", C "user_name",  \
      GT_STR, GP_ENC)                                                                              \
    X(E##USER_UPN, B, "associatedIdentity.userPrincipalName|identity.user.userPrincipalName",      \
      C "user_upn", GT_STR, GP_LOOKUP)                                                             \
    X(E##USER_TENANT, B, "associatedIdentity.tenantId|identity.user.tenantId", C "user_tenant",    \
      GT_STR, GP_NONE)                                                                             \
    X(E##PHONE, B, "identity.phone.id", C "phone", GT_STR, GP_LOOKUP)                              \
    X(E##GUEST_NAME, B, "identity.guest.displayName", C "guest_name", GT_STR, GP_ENC)              \
    X(E##HOST, B, "name", C "host", GT_STR, GP_LOOKUP)                                             \
    X(E##CPU_NAME, B, "cpuName", C "cpu_name", GT_STR, GP_NONE)                                    \
    X(E##CPU_CORES, B, "cpuCoresCount", C "cpu_cores", GT_INT, GP_NONE)                            \
    X(E##CPU_MHZ, B, "cpuProcessorSpeedInMhz", C "cpu_mhz", GT_INT, GP_NONE)                       \
    X(E##RATING, B, "feedback.rating", C "rating", GT_STR, GP_NONE)                                \
    X(E##FEEDBACK_TEXT, B, "feedback.text", C "feedback_text", GT_STR, GP_ENC)                     \
    X(E##FEEDBACK_TOKENS, B, "feedback.tokens", C "feedback_tokens", GT_JSON, GP_NONE)

/* networkInfo, one per side of a media. */
#define GRAPH_NET_FIELDS(X, E, B, C)                                                               \
    X(E##IP, B, "ipAddress", C "ip", GT_IP, GP_LOOKUP)                                             \
    X(E##PORT, B, "port", C "port", GT_INT, GP_NONE)                                               \
    X(E##REFLEXIVE_IP, B, "reflexiveIPAddress", C "reflexive_ip", GT_IP, GP_LOOKUP)                \
    X(E##RELAY_IP, B, "relayIPAddress", C "relay_ip", GT_IP, GP_NONE)                              \
    X(E##RELAY_PORT, B, "relayPort", C "relay_port", GT_INT, GP_NONE)                              \
    X(E##SUBNET, B, "subnet", C "subnet", GT_STR, GP_NONE)                                         \
    X(E##MAC, B, "macAddress", C "mac", GT_MAC, GP_LOOKUP)                                         \
    X(E##BSSID, B, "basicServiceSetIdentifier", C "bssid", GT_STR, GP_NONE)                        \
    X(E##CONNECTION_TYPE, B, "connectionType", C "connection_type", GT_STR, GP_NONE)               \
    X(E##LINK_SPEED, B, "linkSpeed", C "link_speed", GT_SPEED, GP_NONE)                            \
    X(E##TRANSPORT, B, "networkTransportProtocol", C "transport", GT_STR, GP_NONE)                 \
    X(E##DNS_SUFFIX, B, "dnsSuffix", C "dns_suffix", GT_STR, GP_NONE)                              \
    X(E##SENT_QUALITY_RATIO, B, "sentQualityEventRatio", C "sent_quality_ratio", GT_REAL, GP_NONE) \
    X(E##RECV_QUALITY_RATIO, B, "receivedQualityEventRatio", C "received_quality_ratio", GT_REAL,  \
      GP_NONE)                                                                                     \
    X(E##DELAY_RATIO, B, "delayEventRatio", C "delay_ratio", GT_REAL, GP_NONE)                     \
    X(E##BANDWIDTH_LOW_RATIO, B, "bandwidthLowEventRatio", C "bandwidth_low_ratio", GT_REAL,       \
      GP_NONE)                                                                                     \
    X(E##WIFI_BAND, B, "wifiBand", C "wifi_band", GT_STR, GP_NONE)                                 \
    X(E##WIFI_RADIO, B, "wifiRadioType", C "wifi_radio_type", GT_STR, GP_NONE)                     \
    X(E##WIFI_CHANNEL, B, "wifiChannel", C "wifi_channel", GT_INT, GP_NONE)                        \
    X(E##WIFI_SIGNAL, B, "wifiSignalStrength", C "wifi_signal", GT_INT, GP_NONE)                   \
    X(E##WIFI_BATTERY, B, "wifiBatteryCharge", C "wifi_battery", GT_INT, GP_NONE)                  \
    X(E##WIFI_MS_DRIVER, B, "wifiMicrosoftDriver", C "wifi_ms_driver", GT_STR, GP_NONE)            \
    X(E##WIFI_MS_DRIVER_VER, B, "wifiMicrosoftDriverVersion", C "wifi_ms_driver_version", GT_STR,  \
      GP_NONE)                                                                                     \
    X(E##WIFI_VENDOR_DRIVER, B, "wifiVendorDriver", C "wifi_vendor_driver", GT_STR, GP_NONE)       \
    X(E##WIFI_VENDOR_DRIVER_VER, B, "wifiVendorDriverVersion", C "wifi_vendor_driver_version",     \
      GT_STR, GP_NONE)                                                                             \
    X(E##TRACE_ROUTE, B, "traceRouteHops", C "trace_route", GT_JSON, GP_ENC)

/* deviceInfo, one per side of a media. Device names can carry a person's
 * name ("Jane's AirPods"), so they are encrypted. */
#define GRAPH_DEV_FIELDS(X, E, B, C)                                                               \
    X(E##CAPTURE_NAME, B, "captureDeviceName", C "capture_name", GT_STR, GP_ENC)                   \
    X(E##CAPTURE_DRIVER, B, "captureDeviceDriver", C "capture_driver", GT_STR, GP_NONE)            \
    X(E##RENDER_NAME, B, "renderDeviceName", C "render_name", GT_STR, GP_ENC)                      \
    X(E##RENDER_DRIVER, B, "renderDeviceDriver", C "render_driver", GT_STR, GP_NONE)               \
    X(E##SENT_SIGNAL, B, "sentSignalLevel", C "sent_signal_level", GT_INT, GP_NONE)                \
    X(E##RECV_SIGNAL, B, "receivedSignalLevel", C "received_signal_level", GT_INT, GP_NONE)        \
    X(E##SENT_NOISE, B, "sentNoiseLevel", C "sent_noise_level", GT_INT, GP_NONE)                   \
    X(E##RECV_NOISE, B, "receivedNoiseLevel", C "received_noise_level", GT_INT, GP_NONE)           \
    X(E##INITIAL_RMS, B, "initialSignalLevelRootMeanSquare", C "initial_signal_rms", GT_REAL,      \
      GP_NONE)                                                                                     \
    X(E##CPU_INSUFFICIENT, B, "cpuInsufficentEventRatio|cpuInsufficientEventRatio",                \
      C "cpu_insufficient_ratio", GT_REAL, GP_NONE)                                                \
    X(E##GLITCH, B, "deviceGlitchEventRatio", C "glitch_ratio", GT_REAL, GP_NONE)                  \
    X(E##CLIPPING, B, "deviceClippingEventRatio", C "clipping_ratio", GT_REAL, GP_NONE)            \
    X(E##LOW_SPEECH, B, "lowSpeechLevelEventRatio", C "low_speech_ratio", GT_REAL, GP_NONE)        \
    X(E##LOW_SNR, B, "lowSpeechToNoiseEventRatio", C "low_snr_ratio", GT_REAL, GP_NONE)            \
    X(E##CAPTURE_NOT_FUNCTIONING, B, "captureNotFunctioningEventRatio",                            \
      C "capture_not_functioning_ratio", GT_REAL, GP_NONE)                                         \
    X(E##RENDER_NOT_FUNCTIONING, B, "renderNotFunctioningEventRatio",                              \
      C "render_not_functioning_ratio", GT_REAL, GP_NONE)                                          \
    X(E##RENDER_ZERO_VOLUME, B, "renderZeroVolumeEventRatio", C "render_zero_volume_ratio",        \
      GT_REAL, GP_NONE)                                                                            \
    X(E##RENDER_MUTE, B, "renderMuteEventRatio", C "render_mute_ratio", GT_REAL, GP_NONE)          \
    X(E##HOWLING, B, "howlingEventCount", C "howling_count", GT_INT, GP_NONE)                      \
    X(E##MIC_GLITCH_RATE, B, "micGlitchRate", C "mic_glitch_rate", GT_REAL, GP_NONE)               \
    X(E##SPEAKER_GLITCH_RATE, B, "speakerGlitchRate", C "speaker_glitch_rate", GT_REAL, GP_NONE)

#define GRAPH_RECORD_FIELDS(X)                                                                     \
    X(REC_ID, NULL, "id", "id", GT_STR, GP_NONE)                                                   \
    X(REC_VERSION, NULL, "version", "version", GT_INT, GP_NONE)                                    \
    X(REC_TYPE, NULL, "type", "type", GT_STR, GP_NONE)                                             \
    X(REC_MODALITIES, NULL, "modalities", "modalities", GT_JSON, GP_NONE)                          \
    X(REC_START, NULL, "startDateTime", "start_us", GT_TIME, GP_NONE)                              \
    X(REC_END, NULL, "endDateTime", "end_us", GT_TIME, GP_NONE)                                    \
    X(REC_LAST_MODIFIED, NULL, "lastModifiedDateTime", "last_modified_us", GT_TIME, GP_NONE)       \
    X(REC_JOIN_URL, NULL, "joinWebUrl", "join_url", GT_STR, GP_ENC)                                \
    X(REC_ORG_ID, NULL, "organizer_v2.id|organizer.user.id", "organizer_id", GT_STR, GP_LOOKUP)    \
    X(REC_ORG_NAME, NULL, "organizer_v2.identity.user.displayName|organizer.user.displayName",     \
      "organizer_name", GT_STR, GP_ENC)                                                            \
    X(REC_ORG_UPN, NULL,                                                                           \
      "organizer_v2.identity.user.userPrincipalName|organizer.user.userPrincipalName",             \
      "organizer_upn", GT_STR, GP_LOOKUP)                                                          \
    X(REC_ORG_PHONE, NULL, "organizer_v2.identity.phone.id|organizer.phone.id", "organizer_phone", \
      GT_STR, GP_LOOKUP)                                                                           \
    X(REC_ORG_TENANT, NULL, "organizer_v2.identity.user.tenantId|organizer.user.tenantId",         \
      "organizer_tenant", GT_STR, GP_NONE)

/* A participant of participants_v2 ({id, identity: communicationsIdentitySet,
 * administrativeUnitInfos}) or, where a record has none, of the retired
 * participants (an identitySet: {user, phone, guest, application}). */
#define GRAPH_PARTICIPANT_FIELDS(X)                                                                \
    X(PAR_ID, NULL, "id", "participant_id", GT_STR, GP_LOOKUP)                                     \
    X(PAR_USER_ID, NULL, "identity.user.id|user.id", "user_id", GT_STR, GP_LOOKUP)                 \
    X(PAR_USER_NAME, NULL, "identity.user.displayName|user.displayName", "user_name", GT_STR,      \
      GP_ENC)                                                                                      \
    X(PAR_USER_UPN, NULL, "identity.user.userPrincipalName|user.userPrincipalName", "user_upn",    \
      GT_STR, GP_LOOKUP)                                                                           \
    X(PAR_USER_TENANT, NULL, "identity.user.tenantId|user.tenantId", "user_tenant", GT_STR,        \
      GP_NONE)                                                                                     \
    X(PAR_PHONE, NULL, "identity.phone.id|phone.id", "phone", GT_STR, GP_LOOKUP)                   \
    X(PAR_GUEST_ID, NULL, "identity.guest.id|guest.id", "guest_id", GT_STR, GP_LOOKUP)             \
    X(PAR_GUEST_NAME, NULL, "identity.guest.displayName|guest.displayName", "guest_name", GT_STR,  \
      GP_ENC)                                                                                      \
    X(PAR_APP_ID, NULL, "identity.application.id|application.id", "app_id", GT_STR, GP_NONE)       \
    X(PAR_APP_NAME, NULL, "identity.application.displayName|application.displayName", "app_name",  \
      GT_STR, GP_NONE)                                                                             \
    X(PAR_ADMIN_UNITS, NULL, "administrativeUnitInfos", "admin_units", GT_JSON, GP_NONE)

#define GRAPH_SESSION_FIELDS(X)                                                                    \
    X(SES_ID, NULL, "id", "id", GT_STR, GP_NONE)                                                   \
    X(SES_START, NULL, "startDateTime", "start_us", GT_TIME, GP_NONE)                              \
    X(SES_END, NULL, "endDateTime", "end_us", GT_TIME, GP_NONE)                                    \
    X(SES_MODALITIES, NULL, "modalities", "modalities", GT_JSON, GP_NONE)                          \
    X(SES_IS_TEST, NULL, "isTest", "is_test", GT_BOOL, GP_NONE)                                    \
    X(SES_FAIL_REASON, NULL, "failureInfo.reason", "failure_reason", GT_STR, GP_NONE)              \
    X(SES_FAIL_STAGE, NULL, "failureInfo.stage", "failure_stage", GT_STR, GP_NONE)                 \
    GRAPH_EP_FIELDS(X, SES_CALLER_, "caller", "caller_")                                           \
    GRAPH_EP_FIELDS(X, SES_CALLEE_, "callee", "callee_")

#define GRAPH_SEGMENT_FIELDS(X)                                                                    \
    X(SEG_ID, NULL, "id", "id", GT_STR, GP_NONE)                                                   \
    X(SEG_START, NULL, "startDateTime", "start_us", GT_TIME, GP_NONE)                              \
    X(SEG_END, NULL, "endDateTime", "end_us", GT_TIME, GP_NONE)                                    \
    X(SEG_FAIL_REASON, NULL, "failureInfo.reason", "failure_reason", GT_STR, GP_NONE)              \
    X(SEG_FAIL_STAGE, NULL, "failureInfo.stage", "failure_stage", GT_STR, GP_NONE)                 \
    GRAPH_EP_FIELDS(X, SEG_CALLER_, "caller", "caller_")                                           \
    GRAPH_EP_FIELDS(X, SEG_CALLEE_, "callee", "callee_")

#define GRAPH_MEDIA_FIELDS(X)                                                                      \
    X(MED_LABEL, NULL, "label", "label", GT_STR, GP_NONE)                                          \
    GRAPH_NET_FIELDS(X, MED_CALLER_, "callerNetwork", "caller_")                                   \
    GRAPH_NET_FIELDS(X, MED_CALLEE_, "calleeNetwork", "callee_")                                   \
    GRAPH_DEV_FIELDS(X, MED_CALLER_DEV_, "callerDevice", "caller_dev_")                            \
    GRAPH_DEV_FIELDS(X, MED_CALLEE_DEV_, "calleeDevice", "callee_dev_")

#define GRAPH_STREAM_FIELDS(X)                                                                     \
    X(STR_STREAM_ID, NULL, "streamId", "stream_id", GT_STR, GP_NONE)                               \
    X(STR_DIRECTION, NULL, "streamDirection", "direction", GT_STR, GP_NONE)                        \
    X(STR_START, NULL, "startDateTime", "start_us", GT_TIME, GP_NONE)                              \
    X(STR_END, NULL, "endDateTime", "end_us", GT_TIME, GP_NONE)                                    \
    X(STR_AVG_JITTER, NULL, "averageJitter", "avg_jitter_ms", GT_DUR, GP_NONE)                     \
    X(STR_MAX_JITTER, NULL, "maxJitter", "max_jitter_ms", GT_DUR, GP_NONE)                         \
    X(STR_AVG_NET_JITTER, NULL, "averageAudioNetworkJitter", "avg_net_jitter_ms", GT_DUR, GP_NONE) \
    X(STR_MAX_NET_JITTER, NULL, "maxAudioNetworkJitter", "max_net_jitter_ms", GT_DUR, GP_NONE)     \
    X(STR_AVG_RTT, NULL, "averageRoundTripTime", "avg_rtt_ms", GT_DUR, GP_NONE)                    \
    X(STR_MAX_RTT, NULL, "maxRoundTripTime", "max_rtt_ms", GT_DUR, GP_NONE)                        \
    X(STR_AVG_LOSS, NULL, "averagePacketLossRate", "avg_loss", GT_REAL, GP_NONE)                   \
    X(STR_MAX_LOSS, NULL, "maxPacketLossRate", "max_loss", GT_REAL, GP_NONE)                       \
    X(STR_AVG_CONCEALED, NULL, "averageRatioOfConcealedSamples", "avg_concealed", GT_REAL,         \
      GP_NONE)                                                                                     \
    X(STR_MAX_CONCEALED, NULL, "maxRatioOfConcealedSamples", "max_concealed", GT_REAL, GP_NONE)    \
    X(STR_DEGRADATION, NULL, "averageAudioDegradation", "avg_degradation", GT_REAL, GP_NONE)       \
    X(STR_BW_ESTIMATE, NULL, "averageBandwidthEstimate", "avg_bandwidth_bps", GT_INT, GP_NONE)     \
    X(STR_PACKETS, NULL, "packetUtilization", "packet_utilization", GT_INT, GP_NONE)               \
    X(STR_BYPASSED, NULL, "wasMediaBypassed", "media_bypassed", GT_BOOL, GP_NONE)                  \
    X(STR_FEC_USED, NULL, "isAudioForwardErrorCorrectionUsed", "fec_used", GT_BOOL, GP_NONE)       \
    X(STR_POST_FEC_LOSS, NULL, "postForwardErrorCorrectionPacketLossRate", "post_fec_loss",        \
      GT_REAL, GP_NONE)                                                                            \
    X(STR_VIDEO_FRAME_LOSS_PCT, NULL, "averageVideoFrameLossPercentage", "video_frame_loss_pct",   \
      GT_REAL, GP_NONE)                                                                            \
    X(STR_RECV_FPS, NULL, "averageReceivedFrameRate", "avg_received_fps", GT_REAL, GP_NONE)        \
    X(STR_VIDEO_FPS, NULL, "averageVideoFrameRate", "avg_video_fps", GT_REAL, GP_NONE)             \
    X(STR_VIDEO_LOSS, NULL, "averageVideoPacketLossRate", "avg_video_loss", GT_REAL, GP_NONE)      \
    X(STR_LOW_FPS_RATIO, NULL, "lowFrameRateRatio", "low_frame_rate_ratio", GT_REAL, GP_NONE)      \
    X(STR_LOW_VIDEO_PROC, NULL, "lowVideoProcessingCapabilityRatio", "low_video_processing_ratio", \
      GT_REAL, GP_NONE)                                                                            \
    X(STR_RMS_FREEZE, NULL, "rmsFreezeDuration", "rms_freeze_ms", GT_DUR, GP_NONE)                 \
    X(STR_AVG_FREEZE, NULL, "averageFreezeDuration", "avg_freeze_ms", GT_DUR, GP_NONE)             \
    X(STR_AUDIO_CODEC, NULL, "audioCodec", "audio_codec", GT_STR, GP_NONE)                         \
    X(STR_VIDEO_CODEC, NULL, "videoCodec", "video_codec", GT_STR, GP_NONE)

#endif
