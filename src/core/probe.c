/* SPDX-License-Identifier: MIT */
/*
 * probe.c -- the names of a probe's answers (core, no I/O; see probe.h).
 */
#include "pgevict/probe.h"

const char *probe_result_name(enum probe_result r)
{
	switch (r) {
	case PROBE_PASSED: return "passed pg_hba.conf";
	case PROBE_HBA_REJECT: return "rejected by pg_hba.conf";
	case PROBE_NO_ENTRY: return "no pg_hba.conf entry";
	case PROBE_SLOTS: return "no connection slot";
	case PROBE_UNREACHABLE: return "unreachable";
	case PROBE_OTHER: return "other error";
	}
	return "?";
}
