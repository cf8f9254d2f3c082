/* Copies stdin to stdout. */
#include <unistd.h>
int main(void) {
    static char b[65536];
    ssize_t n;
    while ((n = read(0, b, sizeof b)) > 0) {
        ssize_t o = 0;
        while (o < n) {
            ssize_t w = write(1, b + o, n - o);
            if (w <= 0) return 2;
            o += w;
        }
    }
    return n < 0;
}
