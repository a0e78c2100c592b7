#include "rtp_clock.h"

#include <math.h>
#include <stddef.h>

static const struct {
    uint8_t pt;
    uint32_t clock;
    const char *name;
} static_pts[] = {
    {0, 8000, "PCMU"},   {3, 8000, "GSM"},    {4, 8000, "G723"},   {5, 8000, "DVI4"},
    {6, 16000, "DVI4"},  {7, 8000, "LPC"},    {8, 8000, "PCMA"},   {9, 8000, "G722"},
    {10, 44100, "L16"},  {11, 44100, "L16"},  {12, 8000, "QCELP"}, {13, 8000, "CN"},
    {14, 90000, "MPA"},  {15, 8000, "G728"},  {16, 11025, "DVI4"}, {17, 22050, "DVI4"},
    {18, 8000, "G729"},  {25, 90000, "CelB"}, {26, 90000, "JPEG"}, {28, 90000, "nv"},
    {31, 90000, "H261"}, {32, 90000, "MPV"},  {33, 90000, "MP2T"}, {34, 90000, "H263"},
};

static const struct {
    uint8_t pt;
    uint32_t clock;
    const char *name;
} teams_pts[] = {
    {104, 16000, "SILK"}, {103, 8000, "SILK"}, {118, 8000, "CN"}, {122, 90000, "X-H264UC"},
    {107, 90000, "H264"}, {123, 0, "FEC"},     {96, 0, "RTX"},    {99, 0, "RTX"},
};

uint32_t rtp_clock_static(uint8_t pt)
{
    for (size_t i = 0; i < sizeof static_pts / sizeof static_pts[0]; i++)
        if (static_pts[i].pt == pt)
            return static_pts[i].clock;
    return 0;
}

uint32_t rtp_clock_teams(uint8_t pt)
{
    for (size_t i = 0; i < sizeof teams_pts / sizeof teams_pts[0]; i++)
        if (teams_pts[i].pt == pt)
            return teams_pts[i].clock;
    return 0;
}

const char *rtp_codec_name(uint8_t pt, bool teams)
{
    for (size_t i = 0; i < sizeof static_pts / sizeof static_pts[0]; i++)
        if (static_pts[i].pt == pt)
            return static_pts[i].name;
    if (teams)
        for (size_t i = 0; i < sizeof teams_pts / sizeof teams_pts[0]; i++)
            if (teams_pts[i].pt == pt)
                return teams_pts[i].name;
    return NULL;
}

uint32_t rtp_clock_snap(double hz)
{
    static const uint32_t rates[] = {8000, 16000, 48000, 90000};
    if (!(hz > 0))
        return 0;
    uint32_t best = 0;
    double best_d = 1e9;
    for (size_t i = 0; i < 4; i++) {
        double d = fabs(log(hz / rates[i]));
        if (d < best_d) {
            best_d = d;
            best = rates[i];
        }
    }
    return best_d < log(1.25) ? best : 0;
}

bool rtp_pt_is_cn(uint8_t pt, bool teams)
{
    return pt == 13 || pt == 19 || (teams && pt == 118);
}
