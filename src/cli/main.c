/* aftershock command line (placeholder). */
int main(void) { return 0; }
