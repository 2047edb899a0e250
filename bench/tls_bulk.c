/*
 * tls_bulk: the TLS ceiling for bench/loopback.
 *
 * One process, two threads, one TCP connection on 127.0.0.1. The sender thread (TLS server)
 * writes 16384-byte records with SSL_write from one block of random bytes filled once; the
 * receiver thread (TLS client) reads and discards them. TLS 1.3 only, TLS_AES_128_GCM_SHA256
 * only, no kernel TLS. The certificate is a throw-away P-256 key made at start-up.
 *
 * Prints one JSON line on stdout:
 *   {"tool":"tls_bulk",...,"bytes":N,"seconds":S,"gbit_s":G,"sender_cpu_s":C1,"receiver_cpu_s":C2}
 * where bytes are application bytes received, seconds the receiver's time from its first read
 * to end of stream, and the CPU times come from CLOCK_THREAD_CPUTIME_ID of each thread (the
 * TLS handshake and certificate generation are excluded).
 *
 * Usage: tls_bulk [-t SECONDS] [-r RECORD_BYTES]   (defaults 5 s, 16384)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define CIPHER "TLS_AES_128_GCM_SHA256"

struct side {
    SSL_CTX *ctx;
    int fd;
    double seconds;  /* sender: how long to send */
    size_t record;   /* sender: bytes per SSL_write */
    uint64_t bytes;  /* receiver: application bytes read; sender: written */
    double elapsed;  /* receiver: first read to EOF, seconds */
    double cpu;      /* CPU seconds of the data phase */
    const char *err; /* NULL on success */
};

static double now_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "tls_bulk: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* A self-signed P-256 certificate valid for one day; the key is transferred to the caller. */
static X509 *make_cert(EVP_PKEY **key_out)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (key == NULL || x == NULL)
        die("cannot make key");
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    if (X509_sign(x, key, EVP_sha256()) == 0)
        die("cannot sign certificate");
    *key_out = key;
    return x;
}

static SSL_CTX *make_ctx(int server, X509 *cert, EVP_PKEY *key)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL)
        die("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    if (SSL_CTX_set_ciphersuites(ctx, CIPHER) != 1)
        die("ciphersuites");
    if (server) {
        if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
            die("certificate");
        SSL_CTX_set_num_tickets(ctx, 0);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}

static void *sender_main(void *arg)
{
    struct side *s = arg;
    SSL *ssl = SSL_new(s->ctx);
    unsigned char *block = malloc(s->record);
    if (ssl == NULL || block == NULL || RAND_bytes(block, (int)s->record) != 1) {
        s->err = "sender setup";
        goto out;
    }
    SSL_set_fd(ssl, s->fd);
    if (SSL_accept(ssl) != 1) {
        s->err = "sender handshake";
        goto out;
    }
    double c0 = now_clock(CLOCK_THREAD_CPUTIME_ID);
    double end = now_clock(CLOCK_MONOTONIC) + s->seconds;
    unsigned n = 0;
    for (;;) {
        int w = SSL_write(ssl, block, (int)s->record);
        if (w <= 0) {
            s->err = "SSL_write";
            break;
        }
        s->bytes += (uint64_t)w;
        /* Check the clock every 16 records: cheap enough, and ≤ 256 KiB of overshoot. */
        if ((++n & 15) == 0 && now_clock(CLOCK_MONOTONIC) >= end)
            break;
    }
    SSL_shutdown(ssl);
    shutdown(s->fd, SHUT_WR);
    s->cpu = now_clock(CLOCK_THREAD_CPUTIME_ID) - c0;
out:
    SSL_free(ssl);
    free(block);
    return NULL;
}

static void *receiver_main(void *arg)
{
    struct side *s = arg;
    static unsigned char buf[1 << 17];
    SSL *ssl = SSL_new(s->ctx);
    if (ssl == NULL) {
        s->err = "receiver setup";
        return NULL;
    }
    SSL_set_fd(ssl, s->fd);
    if (SSL_connect(ssl) != 1) {
        s->err = "receiver handshake";
        goto out;
    }
    double c0 = now_clock(CLOCK_THREAD_CPUTIME_ID);
    double t0 = 0, t1 = 0;
    for (;;) {
        int r = SSL_read(ssl, buf, sizeof(buf));
        if (r <= 0) {
            int e = SSL_get_error(ssl, r);
            if (e != SSL_ERROR_ZERO_RETURN && e != SSL_ERROR_SYSCALL)
                s->err = "SSL_read";
            break;
        }
        t1 = now_clock(CLOCK_MONOTONIC);
        if (t0 == 0)
            t0 = t1;
        s->bytes += (uint64_t)r;
    }
    s->elapsed = t1 - t0;
    s->cpu = now_clock(CLOCK_THREAD_CPUTIME_ID) - c0;
out:
    SSL_free(ssl);
    return NULL;
}

/* Connected pair over 127.0.0.1 through a real listener (not socketpair: we want TCP). */
static void tcp_pair(int *srv, int *cli)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &alen) < 0)
        die("listen");
    *cli = socket(AF_INET, SOCK_STREAM, 0);
    if (*cli < 0 || connect(*cli, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("connect");
    *srv = accept(l, NULL, NULL);
    if (*srv < 0)
        die("accept");
    close(l);
}

int main(int argc, char **argv)
{
    double seconds = 5;
    size_t record = 16384;
    int opt;
    while ((opt = getopt(argc, argv, "t:r:")) != -1) {
        char *end = NULL;
        switch (opt) {
        case 't':
            seconds = strtod(optarg, &end);
            if (*end != '\0' || seconds <= 0 || seconds > 3600)
                goto usage;
            break;
        case 'r':
            record = (size_t)strtoul(optarg, &end, 10);
            if (*end != '\0' || record == 0 || record > 16384)
                goto usage;
            break;
        default:
            goto usage;
        }
    }

    EVP_PKEY *key = NULL;
    X509 *cert = make_cert(&key);
    struct side snd = {.ctx = make_ctx(1, cert, key), .seconds = seconds, .record = record};
    struct side rcv = {.ctx = make_ctx(0, NULL, NULL)};
    tcp_pair(&snd.fd, &rcv.fd);

    pthread_t ts, tr;
    if (pthread_create(&ts, NULL, sender_main, &snd) != 0 ||
        pthread_create(&tr, NULL, receiver_main, &rcv) != 0)
        die("pthread_create");
    pthread_join(ts, NULL);
    pthread_join(tr, NULL);
    if (snd.err != NULL || rcv.err != NULL || rcv.elapsed <= 0)
        die(snd.err != NULL ? snd.err : rcv.err != NULL ? rcv.err : "no data");

    printf("{\"tool\":\"tls_bulk\",\"version\":\"%s\",\"cipher\":\"%s\",\"record\":%zu,"
           "\"bytes\":%llu,\"seconds\":%.6f,\"gbit_s\":%.4f,\"sender_cpu_s\":%.4f,"
           "\"receiver_cpu_s\":%.4f}\n",
           OpenSSL_version(OPENSSL_VERSION), CIPHER, record, (unsigned long long)rcv.bytes,
           rcv.elapsed, (double)rcv.bytes * 8 / rcv.elapsed / 1e9, snd.cpu, rcv.cpu);

    close(snd.fd);
    close(rcv.fd);
    SSL_CTX_free(snd.ctx);
    SSL_CTX_free(rcv.ctx);
    X509_free(cert);
    EVP_PKEY_free(key);
    return 0;
usage:
    fprintf(stderr, "usage: tls_bulk [-t SECONDS] [-r RECORD_BYTES<=16384]\n");
    return 64;
}
