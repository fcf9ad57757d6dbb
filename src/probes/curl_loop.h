/* libcurl's multi socket interface driven by an ash_loop: one multi handle per loop, shared by http probes. */
#ifndef ASH_PROBES_CURL_LOOP_H
#define ASH_PROBES_CURL_LOOP_H

#include "sys/loop.h"

#include <aftershock/error.h>
#include <curl/curl.h>

typedef struct ash_curl_loop ash_curl_loop;

/* A transfer finished (result CURLE_OK or an error). The easy handle has already
 * been removed from the multi handle; the callee owns it again and may free it. */
typedef void (*ash_curl_done_fn)(CURL *easy, CURLcode result, void *arg);

/* Take a reference on the multi handle of `loop`, creating it on first use. */
int ash_curl_loop_ref(ash_loop *loop, ash_curl_loop **out, ash_error_t *err);
/* Drop a reference; the last one frees the multi handle and leaves nothing in the loop.
 * Every transfer must have finished or been removed first. */
void ash_curl_loop_unref(ash_curl_loop *cl);

/* Start a transfer; done(easy, result, arg) is called once, later, from the loop.
 * Uses CURLOPT_PRIVATE of the easy handle. */
int ash_curl_loop_add(ash_curl_loop *cl, CURL *easy, ash_curl_done_fn done, void *arg, ash_error_t *err);
/* Abandon a transfer in flight: done is not called. */
void ash_curl_loop_remove(ash_curl_loop *cl, CURL *easy);

#endif
