/* flood.c: the logos-p2p C ABI end to end, on loopback only.
 *
 * Starts three nodes (A, B, C) bound to 127.0.0.1 on ports the system picks, connects B and C
 * to A, floods one message from A, checks that B's and C's receive callbacks each fire exactly
 * once (and A's never), pages through A's peers one at a time, checks a few refusals, and shuts
 * the three down. B's receive callback is the one with the sender: from inside it B lists its
 * peers, floods a reply and blacklists an address (the layer holds no lock around callbacks),
 * and the reply reaches C through A. A's is the 2019 bool callback.
 *
 * C's is the verifying callback (verdicts): A floods a child before its parent; C answers
 * LOGOS_P2P_VERDICT_PENDING with the parent's id (logos_p2p_message_id), is offered the child
 * again once it accepted the parent, and accepts it then, once. C ignores a junk message
 * (LOGOS_P2P_VERDICT_IGNORE: no penalty, A stays connected), and finally reports the parent
 * invalid after all (logos_p2p_final_verdict).
 *
 * Usage: flood <datadir-a> <datadir-b> <datadir-c> [timeout-seconds]
 * Build (from the repository root):
 *   cargo build -p node && cc -std=c11 -Iinclude examples/c/flood.c target/debug/libnode.a \
 *       -llmdb -lpthread -ldl -lm -lrt -o target/flood-c
 * (-llmdb: the library links the system liblmdb when liblmdb-dev is installed; drop it when
 * lmdb-sys bundled its own copy into libnode.a.)
 * Exit status 0 when everything held. */

#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logos_p2p.h"

#define NODES 3

struct node_state {
    const char *name;
    atomic_int received;
    atomic_int wrong;
    atomic_int replies;
    /* The verdict phase: payloads seen, C's verdicts. */
    atomic_int extra;
    atomic_int child_pending;
    atomic_int child_accepted;
    atomic_int parent_accepted;
    atomic_int junk_ignored;
    atomic_int id_mismatch;
    LogosP2p *_Atomic handle;
    /* What B's callback saw: the sender, and how many peers it listed from inside. */
    char sender[LOGOS_P2P_ADDRESS_SIZE];
    int64_t sender_id;
    int listed;
    int reentrant_ok;
};

static const char MESSAGE[] = "hello from C";
static const char REPLY[] = "reply from B";
static const char PARENT[] = "parent from A";
static const char CHILD[] = "child of the parent";
static const char JUNK[] = "junk C ignores";

static bool on_message(const void *msg, unsigned size, void *user)
{
    struct node_state *st = user;
    if (size == sizeof MESSAGE - 1 && memcmp(msg, MESSAGE, size) == 0)
        atomic_fetch_add(&st->received, 1);
    else if (size == sizeof REPLY - 1 && memcmp(msg, REPLY, size) == 0)
        atomic_fetch_add(&st->replies, 1);
    else if ((size == sizeof PARENT - 1 && memcmp(msg, PARENT, size) == 0) ||
             (size == sizeof CHILD - 1 && memcmp(msg, CHILD, size) == 0) ||
             (size == sizeof JUNK - 1 && memcmp(msg, JUNK, size) == 0))
        atomic_fetch_add(&st->extra, 1);
    else
        atomic_fetch_add(&st->wrong, 1);
    return true; /* valid: relay it */
}

static bool is(const void *msg, unsigned size, const char *text, size_t len)
{
    return size == len && memcmp(msg, text, len) == 0;
}

/* C's verifying callback: the child waits for the parent; the junk is ignored. */
static int on_verify(const void *msg, unsigned size, const LogosP2pId *id,
                     const LogosP2pSender *sender, LogosP2pId *missing, unsigned *missing_count,
                     void *user)
{
    struct node_state *st = user;
    LogosP2p *self = atomic_load(&st->handle);
    (void)sender;
    if (self != NULL) {
        LogosP2pId own;
        if (logos_p2p_message_id(self, msg, size, &own) != 0 ||
            memcmp(own.bytes, id->bytes, LOGOS_P2P_ID_SIZE) != 0)
            atomic_fetch_add(&st->id_mismatch, 1);
    }
    if (is(msg, size, JUNK, sizeof JUNK - 1)) {
        atomic_fetch_add(&st->junk_ignored, 1);
        return LOGOS_P2P_VERDICT_IGNORE;
    }
    if (is(msg, size, PARENT, sizeof PARENT - 1)) {
        atomic_fetch_add(&st->parent_accepted, 1);
        return LOGOS_P2P_VERDICT_ACCEPT;
    }
    if (is(msg, size, CHILD, sizeof CHILD - 1)) {
        if (atomic_load(&st->parent_accepted) == 0 && self != NULL &&
            logos_p2p_message_id(self, PARENT, sizeof PARENT - 1, &missing[0]) == 0) {
            *missing_count = 1;
            atomic_fetch_add(&st->child_pending, 1);
            return LOGOS_P2P_VERDICT_PENDING;
        }
        atomic_fetch_add(&st->child_accepted, 1);
        return LOGOS_P2P_VERDICT_ACCEPT;
    }
    return on_message(msg, size, user) ? LOGOS_P2P_VERDICT_ACCEPT : LOGOS_P2P_VERDICT_IGNORE;
}

/* B's callback: knows the sender, and calls back into its own layer. */
static bool on_message_from(const void *msg, unsigned size, const LogosP2pSender *sender,
                            void *user)
{
    struct node_state *st = user;
    LogosP2p *self = atomic_load(&st->handle);
    if (!is(msg, size, MESSAGE, sizeof MESSAGE - 1))
        return on_message(msg, size, user);
    snprintf(st->sender, sizeof st->sender, "%s", sender->address);
    st->sender_id = sender->id;
    if (self != NULL) {
        int64_t cursor = 0;
        LogosP2pPeer peers[4];
        st->listed = logos_p2p_get_peers(self, &cursor, peers, 4);
        int replied = logos_p2p_propagate_message(self, REPLY, sizeof REPLY - 1);
        int banned = logos_p2p_add_to_blacklist(self, "10.9.9.9");
        st->reentrant_ok = st->listed >= 1 && replied == 1 && banned == 1;
    }
    return on_message(msg, size, user);
}

static bool never_important(const void *msg, unsigned size, void *user)
{
    (void)msg; (void)size; (void)user;
    return false;
}

static atomic_int ui_messages;

static void on_ui(int level, const char *text, void *user)
{
    (void)user;
    atomic_fetch_add(&ui_messages, 1);
    if (level == LOGOS_P2P_UI_ERROR || level == LOGOS_P2P_UI_WARNING)
        fprintf(stderr, "ui[%d]: %s\n", level, text);
}

static int option_count;

static void on_option(const char *option, const char *description, int flags, void *user)
{
    (void)flags; (void)user;
    if (option[0] != '\0' && description[0] != '\0')
        option_count++;
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

/* Number of peers of h whose handshake completed (pages of one entry). */
static int ready_peers(LogosP2p *h)
{
    int64_t cursor = 0;
    int ready = 0;
    while (cursor >= 0) {
        LogosP2pPeer peer;
        int n = logos_p2p_get_peers(h, &cursor, &peer, 1);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        if (peer.handshake_complete)
            ready++;
    }
    return ready;
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
    if (argc < 4) {
        fprintf(stderr, "usage: %s <datadir-a> <datadir-b> <datadir-c> [timeout-seconds]\n", argv[0]);
        return 2;
    }
    double timeout = argc > 4 ? atof(argv[4]) : 15.0;
    int status = 0;
    struct node_state st[NODES];
    memset(st, 0, sizeof st);
    st[0].name = "A";
    st[1].name = "B";
    st[2].name = "C";
    LogosP2p *h[NODES] = { NULL, NULL, NULL };
    const char *node_argv[] = { "flood", "-chain=logosregtest", "-bind=127.0.0.1:0" };

    /* Refusals: NULL config, NULL handle. */
    CHECK(logos_p2p_start(NULL) == NULL, "start(NULL)");
    CHECK(logos_p2p_propagate_message(NULL, MESSAGE, 1) == LOGOS_P2P_ERR_NULL, "NULL handle");

    for (int i = 0; i < NODES; i++) {
        LogosP2pConfig cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.argc = 3;
        cfg.argv = node_argv;
        cfg.datadir = argv[1 + i];
        cfg.test_mode = true;
        if (i == 1)
            cfg.receive_message_from = on_message_from;
        else if (i == 2)
            cfg.verify_message = on_verify;
        else
            cfg.receive_message = on_message;
        cfg.is_message_important = never_important;
        cfg.callback_user = &st[i];
        cfg.ui_message = on_ui;
        h[i] = logos_p2p_start(&cfg);
        CHECK(h[i] != NULL, "start node %s", st[i].name);
        atomic_store(&st[i].handle, h[i]);
    }
    int port = logos_p2p_listen_port(h[0]);
    CHECK(port > 0, "listen port %d", port);
    printf("node A listens on 127.0.0.1:%d\n", port);

    CHECK(logos_p2p_propagate_message(h[0], MESSAGE, sizeof MESSAGE - 1) == 0,
          "no peer yet: propagate returns 0");

    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    const char *peers[] = { addr };
    for (int i = 1; i < NODES; i++)
        CHECK(logos_p2p_add_peers(h[i], peers, 1) == 1, "add_peers on %s", st[i].name);

    double end = now_seconds() + timeout;
    while (ready_peers(h[0]) < 2 || ready_peers(h[1]) < 1 || ready_peers(h[2]) < 1) {
        CHECK(now_seconds() < end, "handshakes within %.0f s", timeout);
        sleep_ms(20);
    }
    printf("connected: A has %d peers\n", ready_peers(h[0]));

    CHECK(logos_p2p_propagate_message(h[0], MESSAGE, sizeof MESSAGE - 1) == 1, "flood from A");
    end = now_seconds() + timeout;
    while (atomic_load(&st[1].received) < 1 || atomic_load(&st[2].received) < 1) {
        CHECK(now_seconds() < end, "delivery within %.0f s", timeout);
        sleep_ms(20);
    }
    sleep_ms(500); /* a duplicate would arrive by now */
    CHECK(atomic_load(&st[0].received) == 0, "A's own message never comes back");
    CHECK(atomic_load(&st[1].received) == 1 && atomic_load(&st[2].received) == 1,
          "B=%d C=%d", atomic_load(&st[1].received), atomic_load(&st[2].received));
    CHECK(atomic_load(&st[0].wrong) + atomic_load(&st[1].wrong) + atomic_load(&st[2].wrong) == 0,
          "no other payload");
    printf("delivered once: B=%d C=%d A=%d\n", atomic_load(&st[1].received),
           atomic_load(&st[2].received), atomic_load(&st[0].received));

    /* B's callback called back into B: its reply reached A and, relayed, C. */
    end = now_seconds() + timeout;
    while (atomic_load(&st[0].replies) < 1 || atomic_load(&st[2].replies) < 1) {
        CHECK(now_seconds() < end, "reply within %.0f s", timeout);
        sleep_ms(20);
    }
    CHECK(st[1].reentrant_ok, "B's callback: listed %d peers", st[1].listed);
    CHECK(strcmp(st[1].sender, addr) == 0, "sender %s, A is %s", st[1].sender, addr);
    CHECK(logos_p2p_is_blacklisted(h[1], "10.9.9.9") == 1, "blacklisted from the callback");
    printf("callback re-entered: sender %s (id %lld), reply A=%d C=%d\n", st[1].sender,
           (long long)st[1].sender_id, atomic_load(&st[0].replies), atomic_load(&st[2].replies));

    /* Verdicts: the child before its parent. C waits, then accepts each once; B (the bool
     * callback) accepts both at once. */
    CHECK(logos_p2p_propagate_message(h[0], CHILD, sizeof CHILD - 1) == 1, "child from A");
    end = now_seconds() + timeout;
    while (atomic_load(&st[2].child_pending) < 1) {
        CHECK(now_seconds() < end, "child pending at C within %.0f s", timeout);
        sleep_ms(20);
    }
    CHECK(logos_p2p_propagate_message(h[0], PARENT, sizeof PARENT - 1) == 1, "parent from A");
    end = now_seconds() + timeout;
    while (atomic_load(&st[2].child_accepted) < 1) {
        CHECK(now_seconds() < end, "child offered again within %.0f s", timeout);
        sleep_ms(20);
    }
    CHECK(logos_p2p_propagate_message(h[0], JUNK, sizeof JUNK - 1) == 1, "junk from A");
    end = now_seconds() + timeout;
    while (atomic_load(&st[2].junk_ignored) < 1 || atomic_load(&st[1].extra) < 3) {
        CHECK(now_seconds() < end, "junk within %.0f s", timeout);
        sleep_ms(20);
    }
    sleep_ms(500); /* a second offer would arrive by now */
    CHECK(atomic_load(&st[2].child_pending) == 1 && atomic_load(&st[2].child_accepted) == 1 &&
              atomic_load(&st[2].parent_accepted) == 1 && atomic_load(&st[2].junk_ignored) == 1,
          "C: pending=%d child=%d parent=%d junk=%d", atomic_load(&st[2].child_pending),
          atomic_load(&st[2].child_accepted), atomic_load(&st[2].parent_accepted),
          atomic_load(&st[2].junk_ignored));
    CHECK(atomic_load(&st[2].id_mismatch) == 0, "ids handed to C's callback");
    CHECK(atomic_load(&st[1].extra) == 3 && atomic_load(&st[1].wrong) == 0, "B got each once");
    CHECK(ready_peers(h[2]) == 1, "ignoring the junk punished nobody");
    LogosP2pId parent_id;
    CHECK(logos_p2p_message_id(h[2], PARENT, sizeof PARENT - 1, &parent_id) == 0, "message id");
    CHECK(logos_p2p_final_verdict(h[2], &parent_id, false) == 1, "final verdict");
    CHECK(logos_p2p_final_verdict(h[2], NULL, false) == LOGOS_P2P_ERR_NULL, "NULL id");
    printf("verdicts: C pending=1 then child=1 parent=1 junk ignored=1; final verdict queued\n");

    /* Page through A's peers, one per call. */
    int64_t cursor = 0;
    int pages = 0;
    while (cursor >= 0) {
        LogosP2pPeer peer;
        int n = logos_p2p_get_peers(h[0], &cursor, &peer, 1);
        CHECK(n >= 0, "get_peers");
        if (n == 0)
            break;
        pages++;
        CHECK(peer.inbound && strncmp(peer.address, "127.0.0.1:", 10) == 0, "peer %s", peer.address);
        printf("page %d: peer id=%lld %s inbound=%d sent=%llu received=%llu next=%lld\n", pages,
               (long long)peer.id, peer.address, (int)peer.inbound,
               (unsigned long long)peer.bytes_sent, (unsigned long long)peer.bytes_received,
               (long long)cursor);
    }
    CHECK(pages == 2, "two pages of one peer, got %d", pages);

    CHECK(logos_p2p_get_peers(h[0], &cursor, NULL, 1) == LOGOS_P2P_ERR_NULL, "NULL out");
    CHECK(logos_p2p_propagate_message(h[0], MESSAGE, LOGOS_P2P_MAX_MESSAGE_SIZE + 1) ==
              LOGOS_P2P_ERR_TOO_LARGE, "oversized message");
    CHECK(logos_p2p_is_blacklisted(h[0], "10.1.1.1") == 0, "not blacklisted");
    CHECK(logos_p2p_add_to_blacklist(h[0], "10.1.1.1") == 1, "blacklist");
    CHECK(logos_p2p_is_blacklisted(h[0], "10.1.1.1") == 1, "blacklisted");
    CHECK(logos_p2p_save_databases(h[0]) == 1, "save");
    CHECK(logos_p2p_load_databases(h[0]) == 1, "load");
    CHECK(logos_p2p_traverse_options(on_option, NULL) > 0 && option_count > 0, "options");
    printf("options: %d\n", option_count);
    CHECK(atomic_load(&ui_messages) > 0, "UI messages");

out:
    for (int i = 0; i < NODES; i++)
        if (h[i] != NULL && logos_p2p_shutdown(h[i]) != 0) {
            fprintf(stderr, "shutdown %s failed: %s\n", st[i].name, logos_p2p_last_error());
            status = 1;
        }
    printf(status == 0 ? "OK\n" : "FAILED\n");
    return status;
}
