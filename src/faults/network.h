/* Fault `network`: what other layers may ask of it (the doctor command's report). */
#ifndef ASH_FAULTS_NETWORK_H
#define ASH_FAULTS_NETWORK_H

#include <stdio.h>

/* Which mechanism each network effect uses on this machine, and why. */
void ash_network_doctor(FILE *out);

#endif
