/* Detector `webhook`: what tests and tools may ask of a running receiver. */
#ifndef ASH_DETECT_WEBHOOK_H
#define ASH_DETECT_WEBHOOK_H

#include <stdint.h>

/* The port the receiver listens on (useful with `listen: 127.0.0.1:0`), from
 * the state its start() returned; 0 if unknown. */
uint16_t ash_webhook_port(const void *state);

#endif
