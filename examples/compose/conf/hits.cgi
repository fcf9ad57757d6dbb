#!/bin/sh
# The api's one dynamic page (busybox httpd CGI): counts a visit in redis.
n=$(printf 'INCR hits\r\nQUIT\r\n' | nc -w 1 cache 6379 | head -1 | tr -d ':\r')
case $n in
'' | *[!0-9]*)
  printf 'Status: 502 Bad Gateway\r\nContent-Type: text/plain\r\n\r\nredis: no answer\n'
  exit 0
  ;;
esac
printf 'Content-Type: text/plain\r\n\r\nhits %s\n' "$n"
