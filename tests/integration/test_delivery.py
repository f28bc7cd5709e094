"""relayd delivery end to end with real peers: the queue runner and its
workers deliver through a smarthost (Postfix smtp-sink, aiosmtpd), a
transport map, MX records served by dnsmasq (in a private network
namespace, so MX hosts listen on 127.0.0.x:25), retry 4xx, bounce 5xx
with RFC 3464 DSNs (never a bounce of a bounce), and `relayctl queue`
lists, holds, releases, deletes and flushes."""

import json
import os
import re

from delivery_harness import (HOSTNAME, configure, delivery_logs,  # noqa
                              envelope, inject, log_lines, parse_dsn, peers,
                              procs_titled, relay, wait_for, wait_log,
                              wait_log_text, wait_queue_empty, WORKER_PREFIX)

RECEIVED_RE = (r"^Received: from client\.test \(\[127\.0\.0\.1\]\)\s+by "
               r"relay\.test \(relayd\) with ESMTP id %s(?:\s+for <[^>]*>)?;")


def settle(relay, timeout=15.0):
    """The queue is empty and no delivery worker runs: nothing can be
    sent any more."""
    wait_queue_empty(relay, timeout)
    wait_for(lambda: not procs_titled(WORKER_PREFIX, relay.master_pid()),
             timeout, step=0.05, what="delivery workers to finish")
    assert relay.queue_ids() == []


def sent_log(relay, qid, rcpt, timeout=15.0):
    return wait_log(relay, lambda d: d["id"] == qid and
                    d["to"] == "<%s>" % rcpt and d["status"] == "sent",
                    timeout, what="status=sent for %s %s" % (qid, rcpt))


# ------------------------------------------------------------ smarthost

def test_smarthost_delivery_to_smtp_sink(relay, peers):
    sink = peers.smtp_sink()
    configure(relay, smarthost=sink.nexthop)
    relay.start_fg()
    qid, msg = inject(relay, "alice@sender.test",
                      ["bob@dest.test", "carol@other.test"],
                      subject="smarthost")
    for rcpt in ("bob@dest.test", "carol@other.test"):
        d = sent_log(relay, qid, rcpt)
        assert d["relay"] == "127.0.0.1[127.0.0.1]:%d" % sink.port, d
        assert d["dsn"] == "2.0.0", d
        assert d["text"].startswith("250 "), d
        assert float(d["delay"]) >= 0, d
    settle(relay)
    dumps = sink.dumps()
    assert len(dumps) == 1, dumps
    hdrs, data = dumps[0]
    # smtp-sink records the MAIL and RCPT arguments after "FROM:"/"TO:".
    assert hdrs["X-Mail-Args"][0].split()[0] == "<alice@sender.test>", hdrs
    assert [a.split()[0] for a in hdrs["X-Rcpt-Args"]] == [
        "<bob@dest.test>", "<carol@other.test>"], hdrs
    assert hdrs["X-Helo-Args"] == [HOSTNAME], hdrs
    # smtp-sink dumps with LF line ends.
    text = data.decode()
    assert re.match(RECEIVED_RE % qid, text), text[:400]
    body = msg.replace(b"\r\n", b"\n")
    assert data.rstrip(b"\n").endswith(body.rstrip(b"\n")), (data, body)
    assert data.count(b"\nReceived: ") + data.startswith(b"Received: ") == 1
    # Exactly one sent line per recipient, nothing deferred.
    lines = delivery_logs(relay, qid)
    assert sorted(d["to"] for d in lines) == ["<bob@dest.test>",
                                              "<carol@other.test>"], lines


def test_smarthost_delivery_exact_envelope_and_content(relay, peers):
    sink = peers.sink()
    configure(relay, smarthost=sink.nexthop)
    relay.start_fg()
    body = ("line one\r\n.a line that starts with a dot\r\n..two dots\r\n"
            "last line\r\n")
    qid, msg = inject(relay, "alice@sender.test", ["bob@dest.test"],
                      subject="exact", body=body)
    got = sink.wait(1, relay=relay)
    sent_log(relay, qid, "bob@dest.test")
    settle(relay)
    assert len(sink.received) == 1, sink.received
    r = got[0]
    assert r.mail_from == "alice@sender.test", r
    assert r.rcpts == ["bob@dest.test"], r
    assert r.queue_id() == qid, r
    # Our Received: field, then the submitted message octet for octet
    # (dot-stuffing undone on both hops).
    text = r.content.decode()
    assert re.match(RECEIVED_RE % qid, text), text[:400]
    assert re.match(r"^[^;]*\s+for <bob@dest\.test>;", text), text[:400]
    n = r.content.index(b"\r\nFrom: ")
    assert r.content[n + 2:] == msg, (r.content, msg)
    assert b"\r\n" not in r.content[:n].replace(b"\r\n\t", b"").replace(
        b"\r\n ", b""), r.content[:n]
    assert b"\r\n.a line that starts with a dot\r\n..two dots\r\n" in \
        r.content


# ------------------------------------------------------------ transport

def test_transport_map_routes_two_domains_to_two_sinks(relay, peers):
    one = peers.sink(name="one")
    two = peers.sink(name="two")
    configure(relay, transport={"one.test": one.nexthop,
                                ".sub.two.test": two.nexthop,
                                "two.test": two.nexthop})
    relay.start_fg()
    q1, _ = inject(relay, "alice@sender.test",
                   ["a@one.test", "b@two.test", "c@x.sub.two.test"],
                   subject="split")
    q2, _ = inject(relay, "alice@sender.test", ["d@two.test"],
                   subject="two-only")
    sent_log(relay, q1, "a@one.test")
    sent_log(relay, q1, "b@two.test")
    sent_log(relay, q1, "c@x.sub.two.test")
    sent_log(relay, q2, "d@two.test")
    settle(relay)
    assert [(r.queue_id(), r.rcpts) for r in one.accepted()] == [
        (q1, ["a@one.test"])], one.received
    got = sorted((r.queue_id(), sorted(r.rcpts)) for r in two.accepted())
    assert got == sorted([(q1, ["b@two.test", "c@x.sub.two.test"]),
                          (q2, ["d@two.test"])]), two.received
    assert len(one.received) == 1 and len(two.received) == 2
    for d in delivery_logs(relay):
        assert d["status"] == "sent", d
        port = one.port if d["to"] == "<a@one.test>" else two.port
        assert d["relay"].endswith("[127.0.0.1]:%d" % port), d


# ------------------------------------------------------------ MX

def mx_world(relay, peers, **conf):
    """A private network namespace with dnsmasq and sinks on 127.0.0.x:25:
      order.test     MX 10 a.order.test (127.0.0.2, sink)
                     MX 20 b.order.test (127.0.0.3, sink)
      failover.test  MX 10 c.failover.test (127.0.0.4, nothing listens)
                     MX 20 d.failover.test (127.0.0.5, sink)
      implicit.test  no MX, A 127.0.0.6 (sink)
      null.test      null MX (RFC 7505)
      loop.test      MX 10 mx.loop.test (127.0.0.1: relayd itself)
      nx.test        does not exist
      sender.test    MX 10 mx.sender.test (127.0.0.7, sink)
      loop2.test     MX 10 relay.test (relayd's own host name, 127.0.0.8)
    relayd listens on 127.0.0.1:25, as a real MX does, and uses dnsmasq
    as its resolver."""
    peers.netns()
    relay.port = 25  # the namespace is ours: nothing else listens there
    dns = peers.dns(
        mx=[("order.test", "a.order.test", 10),
            ("order.test", "b.order.test", 20),
            ("failover.test", "c.failover.test", 10),
            ("failover.test", "d.failover.test", 20),
            ("loop.test", "mx.loop.test", 10),
            ("loop2.test", HOSTNAME, 10),
            ("sender.test", "mx.sender.test", 10)],
        hosts=[("a.order.test", "127.0.0.2"), ("b.order.test", "127.0.0.3"),
               ("c.failover.test", "127.0.0.4"),
               ("d.failover.test", "127.0.0.5"),
               ("implicit.test", "127.0.0.6"),
               ("mx.loop.test", "127.0.0.1"),
               (HOSTNAME, "127.0.0.8"),
               ("mx.sender.test", "127.0.0.7")],
        null_mx=["null.test"])
    sinks = {name: peers.sink(host=ip, port=25, name=name) for name, ip in
             (("a", "127.0.0.2"), ("b", "127.0.0.3"), ("d", "127.0.0.5"),
              ("implicit", "127.0.0.6"), ("sender", "127.0.0.7"))}
    configure(relay, resolver=dns.resolver, **conf)
    relay.start_fg()
    return dns, sinks


def test_mx_lowest_preference_first_then_next_when_down(relay, peers):
    dns, s = mx_world(relay, peers)
    ids = [inject(relay, "alice@sender.test", ["u%d@order.test" % i],
                  subject="order%d" % i)[0] for i in range(3)]
    qf, _ = inject(relay, "alice@sender.test", ["v@failover.test"],
                   subject="failover")
    for i, qid in enumerate(ids):
        d = sent_log(relay, qid, "u%d@order.test" % i)
        assert d["relay"] == "a.order.test[127.0.0.2]:25", d
    d = sent_log(relay, qf, "v@failover.test")
    assert d["relay"] == "d.failover.test[127.0.0.5]:25", d
    settle(relay)
    assert sorted(r.queue_id() for r in s["a"].accepted()) == sorted(ids)
    assert s["b"].received == [], s["b"].received
    assert [(r.queue_id(), r.rcpts) for r in s["d"].accepted()] == [
        (qf, ["v@failover.test"])]
    # The failover happened within the first attempt: nothing deferred.
    assert [d for d in delivery_logs(relay) if d["status"] != "sent"] == []
    # Routing really asked dnsmasq.
    log = dns.text()
    assert "query[MX] order.test from 127.0.0.1" in log, log
    assert "query[MX] failover.test from 127.0.0.1" in log, log


def test_mx_implicit_a_record(relay, peers):
    dns, s = mx_world(relay, peers)
    qid, msg = inject(relay, "alice@sender.test", ["w@implicit.test"],
                      subject="implicit")
    d = sent_log(relay, qid, "w@implicit.test")
    assert d["relay"] == "implicit.test[127.0.0.6]:25", d
    settle(relay)
    got = s["implicit"].accepted()
    assert [(r.queue_id(), r.rcpts) for r in got] == [
        (qid, ["w@implicit.test"])]
    assert got[0].content.endswith(msg)
    assert all(not x.received for k, x in s.items() if k != "implicit")
    log = dns.text()
    assert "query[MX] implicit.test from 127.0.0.1" in log, log
    assert "query[A] implicit.test from 127.0.0.1" in log, log


def test_null_mx_bounces_at_once_with_dsn_to_sender(relay, peers):
    dns, s = mx_world(relay, peers)
    qid, msg = inject(relay, "alice@sender.test", ["x@null.test"],
                      subject="nullmx")
    d = wait_log(relay, lambda d: d["id"] == qid and d["status"] != "sent",
                 what="the null MX verdict")
    assert d["status"] == "bounced" and d["dsn"] == "5.1.10", d
    assert d["to"] == "<x@null.test>", d
    got = s["sender"].wait(1, relay=relay)
    settle(relay)
    assert len(got) == 1 and len(s["sender"].received) == 1, got
    bounce = got[0]
    assert bounce.mail_from == "<>", bounce
    assert bounce.rcpts == ["alice@sender.test"], bounce
    m, per_msg, per_rcpt, returned = parse_dsn(bounce.content)
    assert "MAILER-DAEMON@%s" % HOSTNAME in m["From"], m["From"]
    assert "alice@sender.test" in m["To"], m["To"]
    assert per_msg["Reporting-MTA"] == "dns; %s" % HOSTNAME, per_msg.items()
    assert len(per_rcpt) == 1, per_rcpt
    r = per_rcpt[0]
    assert r["Final-Recipient"].lower() == "rfc822; x@null.test", r.items()
    assert r["Action"] == "failed", r.items()
    assert r["Status"] == "5.1.10", r.items()
    assert returned is not None
    assert "Subject: nullmx" in returned.as_string(), returned.as_string()
    # No attempt was ever deferred: a null MX is final at once.
    assert [x for x in delivery_logs(relay, qid)
            if x["status"] == "deferred"] == []
    assert all(not x.received for k, x in s.items() if k != "sender")


def test_mx_back_to_us_and_nxdomain_bounce(relay, peers):
    dns, s = mx_world(relay, peers)
    qid, _ = inject(relay, "alice@sender.test",
                    ["y@loop.test", "y2@loop2.test", "z@nx.test"],
                    subject="loops")
    verdict = {}
    want = {"y@loop.test": "5.4.6", "y2@loop2.test": "5.4.6",
            "z@nx.test": "5.1.2"}
    for rcpt, status in want.items():
        d = wait_log(relay, lambda d: d["id"] == qid and d["to"] ==
                     "<%s>" % rcpt, what="the verdict on %s" % rcpt)
        assert d["status"] == "bounced" and d["dsn"] == status, (
            d, relay.all_stderr())
        verdict[rcpt] = d
    for rcpt in ("y@loop.test", "y2@loop2.test"):
        assert "loops back to myself" in verdict[rcpt]["text"], verdict
    settle(relay)
    # One DSN or several (the recipients have different next hops), but
    # each failed recipient is reported exactly once.
    got = s["sender"].accepted()
    assert got, relay.all_stderr()
    st = [(b["Final-Recipient"].split(";")[1].strip(), b["Status"])
          for g in got for b in parse_dsn(g.content)[2]]
    assert sorted(st) == sorted(want.items()), st
    # relayd never connected to itself to deliver.
    assert not [x for x in log_lines(relay) if "client=[127.0.0.1]" in x
                and "helo=%s" % HOSTNAME in x], log_lines(relay)


# ------------------------------------------------------------ retries

def test_451_then_250_is_retried_and_delivered_once(relay, peers):
    sink = peers.sink()
    sink.data_replies = ["451 4.3.0 Try again later"]
    configure(relay, smarthost=sink.nexthop)
    relay.start_fg()
    qid, msg = inject(relay, "alice@sender.test", ["bob@dest.test"],
                      subject="retry")
    d = wait_log(relay, lambda d: d["id"] == qid and
                 d["status"] == "deferred", what="the deferral")
    assert d["dsn"] == "4.3.0", d
    assert "451 4.3.0 Try again later" in d["text"], d
    sent_log(relay, qid, "bob@dest.test")
    settle(relay)
    assert [r.reply[:3] for r in sink.received] == ["451", "250"], \
        sink.received
    assert [r.queue_id() for r in sink.accepted()] == [qid]
    assert sink.received[1].content == sink.received[0].content
    assert [x["status"] for x in delivery_logs(relay, qid)] == [
        "deferred", "sent"]


# ------------------------------------------------------------ bounces

def test_550_for_one_of_two_rcpts_dsn_to_sender(relay, peers):
    dest = peers.sink(name="dest")
    snd = peers.sink(name="sender")
    dest.rcpt_replies["bad@dest.test"] = (
        "550 5.1.1 <bad@dest.test>: Recipient address rejected: "
        "User unknown")
    configure(relay, transport={"dest.test": dest.nexthop,
                                "sender.test": snd.nexthop})
    relay.start_fg()
    qid, msg = inject(relay, "alice@sender.test",
                      ["good@dest.test", "bad@dest.test"], subject="half")
    sent_log(relay, qid, "good@dest.test")
    d = wait_log(relay, lambda d: d["id"] == qid and
                 d["to"] == "<bad@dest.test>", what="bad's verdict")
    assert d["status"] == "bounced" and d["dsn"] == "5.1.1", d
    assert "550 5.1.1" in d["text"], d
    got = snd.wait(1, relay=relay)
    settle(relay)
    assert [(r.queue_id(), r.rcpts) for r in dest.accepted()] == [
        (qid, ["good@dest.test"])], dest.received
    assert len(dest.received) == 1
    assert len(got) == 1 and len(snd.received) == 1, snd.received
    bounce = got[0]
    assert bounce.mail_from == "<>" and bounce.rcpts == ["alice@sender.test"]
    m, per_msg, per_rcpt, returned = parse_dsn(bounce.content)
    assert "MAILER-DAEMON@%s" % HOSTNAME in m["From"], m["From"]
    assert m["To"] and "alice@sender.test" in m["To"], m["To"]
    assert per_msg["Reporting-MTA"] == "dns; %s" % HOSTNAME
    assert per_msg["Arrival-Date"], per_msg.items()
    assert len(per_rcpt) == 1, [b.items() for b in per_rcpt]
    r = per_rcpt[0]
    assert r["Final-Recipient"].lower() == "rfc822; bad@dest.test", r.items()
    assert r["Action"] == "failed"
    assert re.match(r"^5\.\d+\.\d+$", r["Status"]) and r["Status"] == \
        "5.1.1", r.items()
    diag = " ".join(r["Diagnostic-Code"].split())
    assert diag.lower().startswith("smtp;"), diag
    assert "550 5.1.1 <bad@dest.test>" in diag, diag
    ret = returned.as_string()
    assert "Subject: half" in ret and "Message-ID: <half-" in ret, ret
    # The DSN itself went through the queue and the log.
    d = wait_log(relay, lambda d: d["to"] == "<alice@sender.test>",
                 what="the DSN's delivery")
    assert d["id"] != qid and d["status"] == "sent", d
    assert d["relay"].endswith("[127.0.0.1]:%d" % snd.port), d


def test_no_bounce_of_a_bounce(relay, peers):
    dest = peers.sink(name="dest")
    snd = peers.sink(name="sender")
    dest.rcpt_replies["bad@dest.test"] = "550 5.1.1 User unknown"
    configure(relay, transport={"dest.test": dest.nexthop,
                                "sender.test": snd.nexthop},
              smarthost=snd.nexthop)
    relay.start_fg()
    qid, _ = inject(relay, "", ["bad@dest.test"], subject="bounce")
    d = wait_log(relay, lambda d: d["id"] == qid, what="the verdict")
    assert d["status"] == "bounced" and d["dsn"] == "5.1.1", d
    line = wait_log_text(relay, r"%s: .*bounce of a bounce" % qid)
    assert "dropped" in line or "discard" in line, line
    settle(relay)
    assert dest.accepted() == [] and snd.received == [], (dest.received,
                                                          snd.received)
    # One queue id only ever appeared in the delivery log: no DSN made.
    assert {x["id"] for x in delivery_logs(relay)} == {qid}


# ------------------------------------------------------------ relayctl queue

def queue_json(relay):
    r = relay.relayctl("queue", "list", "--json")
    assert r.rc == 0, r
    doc = json.loads(r.out)
    msgs = doc["messages"] if isinstance(doc, dict) else doc
    assert isinstance(msgs, list), doc
    return {m["id"]: m for m in msgs}


def rcpt_states(m):
    return {r["address"].strip("<>"): r["state"] for r in m["recipients"]}


def test_relayctl_queue_list_hold_release_delete_flush(relay, peers):
    from delivery_harness import free_port
    port = free_port()
    # Long retries: only a flush makes the runner try again.
    configure(relay, smarthost="[127.0.0.1]:%d" % port, retry="1h, 2h")
    relay.start_fg()
    q1, _ = inject(relay, "alice@sender.test",
                   ["bob@dest.test", "carol@dest.test"], subject="one")
    q2, _ = inject(relay, "alice@sender.test", ["dave@dest.test"],
                   subject="two")
    q3, _ = inject(relay, "alice@sender.test", ["erin@dest.test"],
                   subject="three")
    for qid, rcpt in ((q1, "bob@dest.test"), (q1, "carol@dest.test"),
                      (q2, "dave@dest.test"), (q3, "erin@dest.test")):
        wait_log(relay, lambda d: d["id"] == qid and d["to"] == "<%s>"
                 % rcpt and d["status"] == "deferred",
                 what="deferral of %s" % rcpt)
    wait_for(lambda: all((envelope(relay, q) or {}).get("attempts") == "1"
                         for q in (q1, q2, q3)), 10,
             what="attempts 1 in every queue file")
    # mailq-like list.
    r = relay.relayctl("queue", "list")
    assert r.rc == 0, r
    for q in (q1, q2, q3):
        assert q in r.out, r
    for a in ("bob@dest.test", "carol@dest.test", "dave@dest.test",
              "erin@dest.test", "alice@sender.test"):
        assert a in r.out, r
    # JSON: every message, its recipients and their states.
    msgs = queue_json(relay)
    assert set(msgs) == {q1, q2, q3}, msgs
    m1 = msgs[q1]
    assert m1["sender"].strip("<>") == "alice@sender.test", m1
    assert rcpt_states(m1) == {"bob@dest.test": "pending",
                               "carol@dest.test": "pending"}, m1
    assert m1["attempts"] == 1, m1
    assert m1["size"] > 0, m1
    assert m1["held"] is False and m1["next_try"] > m1["arrival"], m1
    # The last error (connection refused) is shown per recipient.
    for rc in m1["recipients"]:
        assert rc["last_error"].startswith("4."), m1
        assert "Connection refused" in rc["last_error"], m1
    # hold q2, delete q3.
    r = relay.relayctl("queue", "hold", q2)
    assert r.rc == 0, r
    assert os.path.exists(relay.spool("hold", q2))
    assert not os.path.exists(relay.spool("queue", q2))
    r = relay.relayctl("queue", "delete", q3)
    assert r.rc == 0, r
    assert not os.path.exists(relay.spool("queue", q3))
    msgs = queue_json(relay)
    assert set(msgs) == {q1, q2}, msgs
    assert msgs[q2]["held"] is True and msgs[q1]["held"] is False, msgs
    r = relay.relayctl("queue", "list")
    assert r.rc == 0 and q3 not in r.out, r
    held = [ln for ln in r.out.splitlines() if ln.startswith(q2)]
    assert len(held) == 1 and "held" in held[0], r
    # The sink comes back; flush sends q1 at once (retry is 1 h).
    sink = peers.sink(port=port)
    r = relay.relayctl("queue", "flush")
    assert r.rc == 0, r
    sent_log(relay, q1, "bob@dest.test", timeout=10)
    sent_log(relay, q1, "carol@dest.test", timeout=10)
    wait_for(lambda: not os.path.exists(relay.spool("queue", q1)), 10,
             what="q1 to leave the queue")
    wait_for(lambda: not procs_titled(WORKER_PREFIX, relay.master_pid()),
             10, what="workers to finish")
    assert [r.queue_id() for r in sink.accepted()] == [q1]
    assert os.path.exists(relay.spool("hold", q2))
    # release q2 and flush: it goes too; q3 never does.
    r = relay.relayctl("queue", "release", q2)
    assert r.rc == 0, r
    assert os.path.exists(relay.spool("queue", q2)) or \
        delivery_logs(relay, q2)[-1]["status"] == "sent"
    assert not os.path.exists(relay.spool("hold", q2))
    r = relay.relayctl("queue", "flush")
    assert r.rc == 0, r
    sent_log(relay, q2, "dave@dest.test", timeout=10)
    settle(relay)
    assert sorted(r.queue_id() for r in sink.accepted()) == sorted([q1, q2])
    assert not [d for d in delivery_logs(relay, q3) if d["status"] == "sent"]
    assert queue_json(relay) == {}


# ------------------------------------------------------------ extras

def test_queue_lifetime_expiry_bounces_with_last_error(relay, peers):
    from delivery_harness import free_port
    snd = peers.sink(name="sender")
    down = free_port()  # nothing listens there
    configure(relay, transport={"dest.test": "[127.0.0.1]:%d" % down,
                                "sender.test": snd.nexthop},
              retry="1s, 1s", queue_lifetime="3s")
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"],
                    subject="expiry")
    wait_log(relay, lambda d: d["id"] == qid and d["status"] == "deferred",
             what="a deferral")
    d = wait_log(relay, lambda d: d["id"] == qid and d["status"] ==
                 "bounced", timeout=20, what="the expiry bounce")
    assert d["to"] == "<bob@dest.test>", d
    assert "lifetime" in (d["note"] or "") + d["text"], d
    assert "Connection refused" in d["text"], d
    got = snd.wait(1, relay=relay)
    settle(relay)
    m, per_msg, per_rcpt, returned = parse_dsn(got[0].content)
    assert got[0].mail_from == "<>" and got[0].rcpts == ["alice@sender.test"]
    assert len(per_rcpt) == 1
    r = per_rcpt[0]
    assert r["Final-Recipient"].lower() == "rfc822; bob@dest.test", r.items()
    assert r["Action"] == "failed", r.items()
    # The last (temporary) error is what is reported.
    assert r["Status"].startswith("4.") or r["Status"].startswith("5."), \
        r.items()
    assert "127.0.0.1" in " ".join(r["Diagnostic-Code"].split()), r.items()
    assert "Subject: expiry" in returned.as_string()


def test_8bit_message_to_server_without_8bitmime_bounces(relay, peers):
    from delivery_harness import Client, SmtpSink
    # smtp-sink -e announces no ESMTP: relayd falls back to HELO and may
    # not send 8-bit data there (no conversion): permanent 5.6.3.
    plain = peers.add(SmtpSink(extra=["-e"]))
    snd = peers.sink(name="sender")
    configure(relay, transport={"dest.test": plain.nexthop,
                                "sender.test": snd.nexthop})
    relay.start_fg()
    c = Client(relay.port)
    try:
        c.greet()
        c.ehlo()
        c.send("MAIL FROM:<alice@sender.test> BODY=8BITMIME\r\n")
        c.expect(250)
        c.send("RCPT TO:<bob@dest.test>\r\n")
        c.expect(250)
        c.send("DATA\r\n")
        c.expect(354)
        c.send("Subject: eight\r\nContent-Type: text/plain; charset=utf-8"
               "\r\n\r\nGr\u00fc\u00dfe\r\n.\r\n".encode())
        code, lines = c.reply()
        assert code == 250, lines
        qid = lines[-1].split()[-1]
    finally:
        c.close()
    d = wait_log(relay, lambda d: d["id"] == qid, what="the verdict")
    assert d["status"] == "bounced" and d["dsn"] == "5.6.3", d
    got = snd.wait(1, relay=relay)
    settle(relay)
    assert plain.dumps() == [], plain.dumps()
    _, _, per_rcpt, _ = parse_dsn(got[0].content)
    assert per_rcpt[0]["Status"] == "5.6.3", per_rcpt[0].items()
