"""A content filter for the milter tests, written with Debian's
python3-milter (pymilter, on libmilter): what it does is chosen by the
recipient and by words in the Subject, so each test says what it wants.

    /usr/bin/python3 milter_filter.py SOCKET LOGFILE

SOCKET is libmilter's form (unix:/path, inet:PORT@ADDR).  Recipients:
reject@... is refused with the filter's own 550 reply, tempfail@... with
451.  Subject words, acted on at end of message: addhdr (X-Test-Milter
added), inshdr (X-Inserted at the top), chghdr (Subject changed), delhdr
(X-Remove-Me deleted), replbody (body replaced), addrcpt (extra@dest.test
added), delrcpt (bob@dest.test removed), chgfrom (sender changed),
quarantine, discard, rejecteom (550 with our text).  Every callback's
arguments are appended to LOGFILE as JSON lines, so tests can check what
the MTA sent (macros, connect data, headers, body).
"""

import json
import os
import sys

import Milter

LOG = None


def log(**kw):
    with open(LOG, "a") as f:
        f.write(json.dumps(kw) + "\n")


class TestFilter(Milter.Base):
    def __init__(self):
        self.subject = ""
        self.bodybuf = b""

    def connect(self, hostname, family, hostaddr):
        log(ev="connect", hostname=hostname, family=int(family),
            addr=list(hostaddr) if hostaddr else None,
            j=self.getsymval("j"),
            daemon=self.getsymval("{daemon_name}"),
            client_addr=self.getsymval("{client_addr}"))
        return Milter.CONTINUE

    def hello(self, name):
        log(ev="helo", name=name)
        return Milter.CONTINUE

    def envfrom(self, f, *args):
        self.subject = ""
        self.bodybuf = b""
        log(ev="mail", sender=f, i=self.getsymval("i"),
            mail_addr=self.getsymval("{mail_addr}"),
            auth=self.getsymval("{auth_authen}"))
        return Milter.CONTINUE

    def envrcpt(self, to, *args):
        log(ev="rcpt", rcpt=to, rcpt_addr=self.getsymval("{rcpt_addr}"))
        if to.lower().startswith("<reject@"):
            self.setreply("550", "5.7.1", "rejected by the test milter")
            return Milter.REJECT
        if to.lower().startswith("<tempfail@"):
            self.setreply("451", "4.7.1", "try later, says the test milter")
            return Milter.TEMPFAIL
        return Milter.CONTINUE

    def header(self, name, value):
        log(ev="header", name=name, value=value)
        if name.lower() == "subject":
            self.subject = value
        return Milter.CONTINUE

    def eoh(self):
        log(ev="eoh")
        return Milter.CONTINUE

    def body(self, chunk):
        self.bodybuf += chunk
        return Milter.CONTINUE

    def eom(self):
        words = self.subject.split()
        log(ev="eom", body=self.bodybuf.decode("latin-1"), words=words)
        if "discard" in words:
            return Milter.DISCARD
        if "rejecteom" in words:
            self.setreply("550", "5.7.0", "content refused by the test milter")
            return Milter.REJECT
        if "addhdr" in words:
            self.addheader("X-Test-Milter", "added")
        if "inshdr" in words:
            self.addheader("X-Inserted", "at the top", 0)
        if "chghdr" in words:
            self.chgheader("Subject", 1, "changed by the milter")
        if "delhdr" in words:
            self.chgheader("X-Remove-Me", 1, "")
        if "replbody" in words:
            self.replacebody(b"The body was replaced.\r\nSecond line.\r\n")
        if "addrcpt" in words:
            self.addrcpt("<extra@dest.test>")
        if "delrcpt" in words:
            self.delrcpt("<bob@dest.test>")
        if "chgfrom" in words:
            self.chgfrom("<changed@sender.test>")
        if "quarantine" in words:
            self.quarantine("held by the test milter")
        return Milter.ACCEPT


def main():
    global LOG
    sock, LOG = sys.argv[1], sys.argv[2]
    os.umask(0o000)  # the relay account connects to the socket
    Milter.factory = TestFilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY |
                     Milter.ADDRCPT | Milter.DELRCPT | Milter.CHGFROM |
                     Milter.QUARANTINE)
    Milter.runmilter("relayd-test", sock, 60)


if __name__ == "__main__":
    main()
