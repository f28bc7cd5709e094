"""Backscatter, end to end: a client outside relay_from sends mail with a
forged sender and RET=FULL to a relay domain whose next hop (an aiosmtpd
sink) answers 550 at RCPT.  relayd's bounce goes to the forged sender's
own sink; it must return the headers only (text/rfc822-headers as its
third part), never the body.  The same message from a client inside
relay_from (127.0.0.2) still gets the whole message back, so the test
tells the two apart.  The client is Python smtplib."""

import smtplib

from delivery_harness import (configure, parse_dsn, peers,  # noqa: F401
                              relay, wait_for, wait_log)

SECRET = "SECRET-BODY-LINE the spammer's payload"


def submit(relay, source, subject):
    """One message with RET=FULL from source to bad@dest.test, sender
    victim@sender.test; returns its queue id."""
    msg = ("From: <victim@sender.test>\r\nTo: <bad@dest.test>\r\n"
           "Subject: %s\r\nMessage-ID: <%s@e2e.test>\r\n\r\n"
           "%s\r\nmore body\r\n" % (subject, subject, SECRET)).encode()
    s = smtplib.SMTP("127.0.0.1", relay.port, local_hostname="client.test",
                     timeout=10, source_address=(source, 0))
    try:
        s.ehlo()
        code, _ = s.mail("victim@sender.test", ["RET=FULL"])
        assert code == 250
        code, text = s.rcpt("bad@dest.test")
        assert code == 250, text
        code, text = s.data(msg)
        assert code == 250, text
        s.quit()
    finally:
        s.close()
    return text.decode().rsplit(" ", 1)[1]


def bounce_of(relay, snd, qid, subject):
    wait_log(relay, lambda d: d["id"] == qid and d["status"] == "bounced",
             what="the bounce of %s" % qid)
    wait_for(lambda: any(subject.encode() in g.content
                         for g in snd.accepted()), 15,
             what="the bounce of %s at the sender's sink" % subject)
    mine = [g for g in snd.accepted() if subject.encode() in g.content]
    assert len(mine) == 1, snd.received
    assert mine[0].mail_from == "<>" and mine[0].rcpts == [
        "victim@sender.test"], mine[0]
    return mine[0]


def test_untrusted_bounce_returns_headers_only(relay, peers):
    dest = peers.sink(name="dest")
    snd = peers.sink(name="sender")
    dest.rcpt_replies["bad@dest.test"] = (
        "550 5.1.1 <bad@dest.test>: Recipient address rejected: "
        "User unknown")
    configure(relay, transport={"dest.test": dest.nexthop,
                                "sender.test": snd.nexthop},
              relay_from="127.0.0.2/32", relay_domains="dest.test",
              greet_pause=0)
    relay.start_fg()

    # From outside relay_from: the sender may be forged.
    qid = submit(relay, "127.0.0.1", "from-outside")
    b = bounce_of(relay, snd, qid, "from-outside")
    assert SECRET.encode() not in b.content, b.content
    assert b"more body" not in b.content, b.content
    m, _, per_rcpt, returned = parse_dsn(b.content)
    assert len(m.get_payload()) == 3, m.get_payload()
    assert returned.get_content_type() == "text/rfc822-headers", \
        returned.get_content_type()
    assert returned["Content-Description"] == "Undelivered Message Headers"
    text = returned.get_payload()
    text = text if isinstance(text, str) else "".join(
        p.as_string() for p in text)
    assert "Subject: from-outside" in text and SECRET not in text, text
    assert per_rcpt[0]["Status"] == "5.1.1", per_rcpt[0].items()
    assert dest.accepted() == []

    # From inside relay_from: RET=FULL is honoured (the whole message).
    qid = submit(relay, "127.0.0.2", "from-inside")
    b = bounce_of(relay, snd, qid, "from-inside")
    assert SECRET.encode() in b.content, b.content
    m, _, _, returned = parse_dsn(b.content)
    assert returned.get_content_type() == "message/rfc822", \
        returned.get_content_type()
