/* host_lmdb.c: a C host that keeps the P2P layer's databases in its OWN LMDB environment.
 *
 * The Logos node already uses LMDB; through LogosP2pConfig.lmdb_env / lmdb_dbi it hands the
 * layer its environment and a database handle instead of letting it open <datadir>/p2p.lmdb.
 * Both sides use the one system liblmdb (the library is built against it, see
 * .cargo/pkgconfig/liblmdb.pc), so the MDB_env * is the same object on both sides.
 *
 * What it does, on loopback only:
 *  1. mdb_env_open()s its own environment in <envdir> with three databases: "host" (its own
 *     data), "p2p-a" and "p2p-b" (one per node), and writes a key of its own into "host" and
 *     another one into "p2p-a" (the layer must leave foreign keys of its database alone);
 *  2. starts node A (database "p2p-a") and node B (database "p2p-b"), both on 127.0.0.1 with
 *     ports the system picks, test mode; B dials A; A floods one message, B's callback fires
 *     once; meanwhile the host writes to its own database (the environment is shared live);
 *  3. A blacklists 10.20.30.40 and learns one routable address (add_peers; test mode refuses
 *     to dial it), then both shut down (each writes its two values);
 *  4. reads back with plain LMDB calls: "peers.dat" (the address DB, with the network magic
 *     and one new-table address) and "banlist.json" (with 10.20.30.40/32) in "p2p-a", both
 *     values in "p2p-b", the host's own keys intact, and nothing created under <datadir>;
 *  5. starts A again on the same environment: the ban was loaded from it.
 *
 * Usage: host_lmdb <envdir> <datadir> [timeout-seconds]   (both directories must exist)
 * Build (from the repository root, with liblmdb-dev installed):
 *   cargo build -p node && cc -std=c11 -Iinclude examples/c/host_lmdb.c target/debug/libnode.a \
 *       -llmdb -lpthread -ldl -lm -lrt -o target/host-lmdb-c
 * Exit status 0 when everything held. */

#define _POSIX_C_SOURCE 200809L
#include <lmdb.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "logos_p2p.h"

static const char MESSAGE[] = "flooded through a host-owned LMDB";
static const char BANNED[] = "10.20.30.40";
static const char LEARNED[] = "2.3.4.5:14497";
/* logosregtest's message start: the first four bytes of its peers.dat. */
static const unsigned char MAGIC[4] = { 0xfe, 0xc1, 0xb7, 0xde };

struct node_state {
    atomic_int received;
    atomic_int wrong;
};

static bool on_message(const void *msg, unsigned size, void *user)
{
    struct node_state *st = user;
    if (size == sizeof MESSAGE - 1 && memcmp(msg, MESSAGE, size) == 0)
        atomic_fetch_add(&st->received, 1);
    else
        atomic_fetch_add(&st->wrong, 1);
    return true;
}

static void on_ui(int level, const char *text, void *user)
{
    (void)user;
    if (level == LOGOS_P2P_UI_ERROR || level == LOGOS_P2P_UI_WARNING)
        fprintf(stderr, "ui[%d]: %s\n", level, text);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int ready_peers(LogosP2p *h)
{
    LogosP2pPeer peers[8];
    int64_t cursor = 0;
    int n = logos_p2p_get_peers(h, &cursor, peers, 8);
    int ready = 0;
    for (int i = 0; i < n; i++)
        ready += peers[i].handshake_complete;
    return n < 0 ? -1 : ready;
}

/* One key/value put in its own write transaction. */
static int put(MDB_env *env, MDB_dbi dbi, const char *key, const char *value)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    MDB_val k = { strlen(key), (void *)key };
    MDB_val v = { strlen(value), (void *)value };
    rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

/* A copy of the value of `key` (NUL appended), or NULL; *size gets its length. */
static char *get(MDB_env *env, MDB_dbi dbi, const char *key, size_t *size)
{
    MDB_txn *txn;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        return NULL;
    MDB_val k = { strlen(key), (void *)key };
    MDB_val v;
    char *out = NULL;
    if (mdb_get(txn, dbi, &k, &v) == 0 && (out = malloc(v.mv_size + 1)) != NULL) {
        memcpy(out, v.mv_data, v.mv_size);
        out[v.mv_size] = '\0';
        *size = v.mv_size;
    }
    mdb_txn_abort(txn);
    return out;
}

static LogosP2p *start_node(const char *datadir, MDB_env *env, MDB_dbi dbi, struct node_state *st)
{
    const char *node_argv[] = { "host_lmdb", "-chain=logosregtest", "-bind=127.0.0.1:0", "-noconf" };
    LogosP2pConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.argc = 4;
    cfg.argv = node_argv;
    cfg.datadir = datadir;
    cfg.lmdb_env = env;
    cfg.lmdb_dbi = dbi;
    cfg.test_mode = true;
    cfg.receive_message = on_message;
    cfg.callback_user = st;
    cfg.ui_message = on_ui;
    return logos_p2p_start(&cfg);
}

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, " (last error: %s)\n", logos_p2p_last_error());              \
            status = 1;                                                                    \
            goto out;                                                                      \
        }                                                                                  \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s <envdir> <datadir> [timeout-seconds]\n", argv[0]);
        return 2;
    }
    const char *envdir = argv[1];
    const char *datadir = argv[2];
    double timeout = argc > 3 ? atof(argv[3]) : 15.0;
    int status = 0;
    MDB_env *env = NULL;
    MDB_dbi host_db = 0, db_a = 0, db_b = 0;
    struct node_state st_a = { 0, 0 }, st_b = { 0, 0 };
    LogosP2p *a = NULL, *b = NULL;
    char *value = NULL;
    size_t size = 0;
    int rc;

    printf("LMDB: %s\n", mdb_version(NULL, NULL, NULL));

    /* 1. The host's environment; MDB_NOTLS because the layer's transactions run on its own
     * threads while the host may hold a read transaction on one of its threads. */
    CHECK(mdb_env_create(&env) == 0, "mdb_env_create");
    CHECK(mdb_env_set_maxdbs(env, 8) == 0, "mdb_env_set_maxdbs");
    CHECK(mdb_env_set_mapsize(env, (size_t)64 << 20) == 0, "mdb_env_set_mapsize");
    rc = mdb_env_open(env, envdir, MDB_NOTLS, 0644);
    CHECK(rc == 0, "mdb_env_open(%s): %s", envdir, mdb_strerror(rc));
    {
        MDB_txn *txn;
        CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0, "begin");
        rc = mdb_dbi_open(txn, "host", MDB_CREATE, &host_db);
        if (rc == 0)
            rc = mdb_dbi_open(txn, "p2p-a", MDB_CREATE, &db_a);
        if (rc == 0)
            rc = mdb_dbi_open(txn, "p2p-b", MDB_CREATE, &db_b);
        if (rc != 0) {
            mdb_txn_abort(txn);
            CHECK(0, "mdb_dbi_open: %s", mdb_strerror(rc));
        }
        CHECK(mdb_txn_commit(txn) == 0, "commit");
    }
    CHECK(put(env, host_db, "chain-tip", "block 1") == 0, "host key");
    CHECK(put(env, db_a, "host-own-key", "kept beside the layer's values") == 0, "host key in p2p-a");

    /* 2. Two nodes in the one environment, one database each. */
    a = start_node(datadir, env, db_a, &st_a);
    CHECK(a != NULL, "start A");
    b = start_node(datadir, env, db_b, &st_b);
    CHECK(b != NULL, "start B");
    int port = logos_p2p_listen_port(a);
    CHECK(port > 0, "listen port %d", port);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    const char *peer_a[] = { addr };
    CHECK(logos_p2p_add_peers(b, peer_a, 1) == 1, "B dials A");
    double end = now_seconds() + timeout;
    while (ready_peers(a) < 1 || ready_peers(b) < 1) {
        CHECK(now_seconds() < end, "handshake within %.0f s", timeout);
        sleep_ms(20);
    }
    /* The host keeps using its environment while the layer runs. */
    CHECK(put(env, host_db, "chain-tip", "block 2") == 0, "host write while running");
    CHECK(logos_p2p_propagate_message(a, MESSAGE, sizeof MESSAGE - 1) == 1, "flood from A");
    end = now_seconds() + timeout;
    while (atomic_load(&st_b.received) < 1) {
        CHECK(now_seconds() < end, "delivery within %.0f s", timeout);
        sleep_ms(20);
    }
    sleep_ms(300);
    CHECK(atomic_load(&st_b.received) == 1 && atomic_load(&st_a.received) == 0 &&
              atomic_load(&st_a.wrong) + atomic_load(&st_b.wrong) == 0,
          "delivered once: B=%d A=%d", atomic_load(&st_b.received), atomic_load(&st_a.received));
    printf("delivered once: B=%d A=%d\n", atomic_load(&st_b.received), atomic_load(&st_a.received));

    /* 3. Something for each database, then shut both down (each writes its values). */
    CHECK(logos_p2p_add_to_blacklist(a, BANNED) == 1, "blacklist");
    const char *learned[] = { LEARNED };
    CHECK(logos_p2p_add_peers(a, learned, 1) == 1, "learn a routable address");
    rc = logos_p2p_shutdown(b);
    b = NULL;
    CHECK(rc == 0, "shutdown B");
    rc = logos_p2p_shutdown(a);
    a = NULL;
    CHECK(rc == 0, "shutdown A");

    /* 4. Read back with plain LMDB. */
    value = get(env, db_a, "peers.dat", &size);
    CHECK(value != NULL && size > 50, "peers.dat in p2p-a");
    CHECK(memcmp(value, MAGIC, 4) == 0, "peers.dat starts with the network magic");
    {
        const unsigned char *p = (const unsigned char *)value + 38; /* magic, 2 version bytes, nKey */
        int32_t n_new = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                  (uint32_t)p[3] << 24);
        CHECK(n_new == 1, "one new-table address in peers.dat, got %d", (int)n_new);
        printf("p2p-a: peers.dat %zu bytes, %d address\n", size, (int)n_new);
    }
    free(value);
    value = get(env, db_a, "banlist.json", &size);
    CHECK(value != NULL && strstr(value, "10.20.30.40/32") != NULL, "banlist.json in p2p-a: %s",
          value ? value : "(none)");
    printf("p2p-a: banlist.json %zu bytes\n", size);
    free(value);
    value = get(env, db_b, "peers.dat", &size);
    CHECK(value != NULL && memcmp(value, MAGIC, 4) == 0, "peers.dat in p2p-b");
    free(value);
    value = get(env, db_b, "banlist.json", &size);
    CHECK(value != NULL, "banlist.json in p2p-b");
    free(value);
    value = get(env, db_a, "host-own-key", &size);
    CHECK(value != NULL && strcmp(value, "kept beside the layer's values") == 0, "host key in p2p-a");
    free(value);
    value = get(env, host_db, "chain-tip", &size);
    CHECK(value != NULL && strcmp(value, "block 2") == 0, "host key in host");
    free(value);
    value = NULL;
    {
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/logosregtest/p2p.lmdb", datadir);
        CHECK(stat(path, &sb) != 0, "nothing created under the data directory (%s)", path);
    }
    printf("host keys intact\n");

    /* 5. A again on the same environment: its ban list comes from the host's database. */
    a = start_node(datadir, env, db_a, &st_a);
    CHECK(a != NULL, "restart A");
    CHECK(logos_p2p_is_blacklisted(a, BANNED) == 1, "ban loaded from the host environment");
    rc = logos_p2p_shutdown(a);
    a = NULL;
    CHECK(rc == 0, "shutdown A again");
    printf("reloaded from the host environment\n");

out:
    free(value);
    if (b != NULL && logos_p2p_shutdown(b) != 0)
        status = 1;
    if (a != NULL && logos_p2p_shutdown(a) != 0)
        status = 1;
    if (env != NULL)
        mdb_env_close(env);
    printf(status == 0 ? "OK\n" : "FAILED\n");
    return status;
}
