"""Is this cell exactly one email address? One strict check for ``check`` and every send.

A cell holding two addresses ("a@x.org, b@y.org") would send one person's private
link to both; a line break in it would stop a whole run. So an address is used
only when it is one plain mailbox: ``name@domain.tld``, no display name, no
comments, no separators, no spaces or line breaks. Reasons are plain words and
never repeat the value (they end up in logs and on the 'Needs attention' tab).
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address

# RFC 5322 dot-atom local part (no quoted strings), and host-name labels: ASCII only.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_SEPARATORS = ",;"
_NOT_ALLOWED = set(' \t"()<>[]\\:')


def mailbox_problem(value: str) -> str | None:
    """None when ``value`` (already trimmed) is exactly one mailbox, else why not."""
    if not value:
        return "is empty"
    if any(c in "\r\n" for c in value):
        return "has a line break in it; an email address is one line"
    if any(c in _SEPARATORS for c in value):
        return "has more than one address in it; only one address can go in each cell"
    if value.count("@") > 1:
        return "has more than one @ in it"
    if any(c in _NOT_ALLOWED or not c.isprintable() for c in value):
        return "has a space, a name or a character that an email address cannot have"
    if not value.isascii():
        return "has letters beyond plain A to Z, which many mail servers cannot take"
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return "is not an email address (it needs a name, then @, then a domain)"
    if not _LOCAL.fullmatch(local):
        return "has a character before the @ that an email address cannot have"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        return "does not end in a full domain after the @ (like example.org)"
    try:
        parsed = Address(addr_spec=value)
    except (ValueError, HeaderParseError, IndexError):
        return "is not an email address that mail can be sent to"
    if parsed.addr_spec != value:
        return "is not an email address that mail can be sent to"
    return None


def one_mailbox(value: object) -> tuple[str, str | None]:
    """(the address trimmed, why it cannot be used or None). Empty is ('', None)."""
    text = "" if value is None else str(value)
    if text in ("nan", "<NA>") and not isinstance(value, str):
        text = ""
    text = text.strip(" \t")
    if not text:
        return "", None
    return text, mailbox_problem(text)
