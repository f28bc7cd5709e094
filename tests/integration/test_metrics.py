"""relayctl metrics: relayd's counters, which its children keep (as the
relay account) in a shared file next to the pidfile, and a census of the
queue, in the Prometheus text format, parsed by Debian's
python3-prometheus-client (the parser a Prometheus stack would use); the
same counters in status --json.  Each counter is made to move by a real
event: a delivery to an aiosmtpd sink, a 451 and a 550 from it, a
relaying denial, a bad command, a client that talks first, a client over
max_per_ip."""

import json
import os
import socket

from delivery_harness import (Client, configure, peers,  # noqa: F401
                              relay, send_message, wait_for)
from prometheus_client.parser import text_string_to_metric_families


def scrape(relay):
    r = relay.relayctl("metrics")
    assert r.rc == 0, r
    out = {}
    for fam in text_string_to_metric_families(r.out):
        for s in fam.samples:
            key = s.name
            if s.labels:
                key += "{%s}" % ",".join(
                    "%s=%s" % kv for kv in sorted(s.labels.items()))
            out[key] = s.value
    return out


def talk_first(port):
    """A client that sends EHLO before the greeting: 554, then EOF.  From
    127.0.0.2: 127.0.0.1 waited greet_pause out before and is not made
    to wait again for a day (PASS NEW), so its early talk would race."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                 source_address=("127.0.0.2", 0))
    s.sendall(b"EHLO early.test\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"554 "), data


def test_counters_and_queue(relay, peers):  # noqa: F811
    sink = peers.sink()
    sink.rcpt_replies["later@dest.test"] = "451 4.3.0 Try again later"
    sink.rcpt_replies["gone@dest.test"] = "550 5.1.1 No such user"
    # 127.0.0.1 outside relay_from: greet_pause and max_per_ip apply.
    configure(relay, smarthost=sink.nexthop, relay_from="10.0.0.0/8",
              relay_domains="dest.test", max_per_ip="1")
    relay.start_fg()
    m = scrape(relay)
    assert m["relayd_up"] == 1, m
    assert m["relayd_sessions_total"] == 0, m
    assert m["relayd_queue_messages{queue=active}"] == 0, m

    c = Client(relay.port)
    c.greet()
    c.ehlo()
    c.send("FOO\r\n")
    c.expect(500)
    c.send("MAIL FROM:<>\r\nRCPT TO:<x@other.test>\r\n")
    c.expect(250)
    c.expect(554)
    c.send("RSET\r\n")
    c.expect(250)
    send_message(c, "", ["bob@dest.test", "later@dest.test",
                         "gone@dest.test"],
                 b"Subject: metrics\r\n\r\nbody\r\n")
    # A second connection while this one is open: over max_per_ip.
    s = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
    assert s.recv(100).startswith(b"421 4.7.0 "), "not refused"
    s.close()
    c.send("QUIT\r\n")
    c.expect(221)
    wait_for(lambda: scrape(relay)["relayd_sessions_active"] == 0, 10,
             what="the session over (max_per_ip is 1)")
    talk_first(relay.port)

    wait_for(lambda: scrape(relay).get(
        "relayd_recipients_deferred_total", 0) >= 1, 30,
        what="the 451 counted")
    wait_for(lambda: scrape(relay)["relayd_sessions_active"] == 0, 10,
             what="sessions over")
    m = scrape(relay)
    assert m["relayd_sessions_total"] == 2, m
    assert m["relayd_messages_accepted_total"] == 1, m
    assert m["relayd_recipients_delivered_total"] == 1, m
    assert m["relayd_recipients_bounced_total"] == 1, m
    assert m["relayd_rejections_total{reason=relay}"] == 1, m
    assert m["relayd_rejections_total{reason=protocol}"] == 1, m
    assert m["relayd_rejections_total{reason=pregreet}"] == 1, m
    assert m["relayd_rejections_total{reason=limit}"] == 1, m
    assert m["relayd_rejections_total{reason=auth}"] == 0, m
    assert m["relayd_queue_messages{queue=active}"] == 1, m
    assert m["relayd_queue_messages{queue=held}"] == 0, m
    assert 0 <= m["relayd_queue_oldest_age_seconds"] < 120, m
    assert m["relayd_start_time_seconds"] > 1.7e9, m

    r = relay.relayctl("status", "--json")
    doc = json.loads(r.out)
    assert doc["metrics"]["messages_accepted_total"] == 1, doc
    assert doc["metrics"]["rejections"]["relay"] == 1, doc

    # The file: root's, 0644, next to the pidfile; gone when relayd is.
    path = os.path.join(relay.root, "run/relayd.metrics")
    st = os.lstat(path)
    assert (st.st_uid, st.st_mode & 0o7777) == (0, 0o644), st
    relay.stop()
    assert not os.path.exists(path)
    m = scrape(relay)
    assert m["relayd_up"] == 0, m
    assert "relayd_sessions_total" not in m, m
    assert m["relayd_queue_messages{queue=active}"] == 1, m


def test_tampered_file_is_refused(relay, peers):  # noqa: F811
    """The relay account cannot make relayctl print its numbers as
    relayd's from a file of its own: owner and size are checked."""
    configure(relay)
    relay.start_fg()
    path = os.path.join(relay.root, "run/relayd.metrics")
    os.chown(path, 4242, 4242)
    r = relay.relayctl("metrics")
    assert r.rc == 0, r
    assert "relayd_up 1" in r.out, r
    assert "relayd_sessions_total" not in r.out, r
    assert "not a relayd metrics file, or not root's" in r.err, r
