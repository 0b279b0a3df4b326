/*
 * ts.c - names of the shared types.
 */
#include "ts.h"

const char *ts_status_name(ts_status s)
{
	switch (s) {
	case TS_REACHABLE: return "Reachable";
	case TS_UNREACHABLE: return "Unreachable";
	case TS_BUSY: return "Busy";
	}
	return "?";
}
