# Journals the tests write by hand.
# ash_dead_start: a start time pid 1 does not have (field 22 of /proc/1/stat,
# the 20th after the command's closing parenthesis, which may hold spaces).
# A planted header naming pid 1 with it is a dead run's on any machine; a
# fixed 1 is pid 1's own start where it began at the first tick, and recover
# would leave the journal alone as a live run's.
ash_dead_start() {
  echo $(($(sed 's/.*) //' /proc/1/stat | cut -d' ' -f20) + 1))
}
