"""Hostile input, shared by the bad-input corpus and the tenancy matrix.

Strings an attacker or a broken client sends: SQL-looking, huge, control and
invisible characters, mixed scripts, emoji, path and template injection.
"""

from __future__ import annotations

MB = 1_000_000

SQL = (
    "' OR '1'='1",
    "A100'; DROP TABLE variants; --",
    "1; DELETE FROM orders",
    "1 UNION SELECT merchant_id FROM merchants",
    "$$; SELECT pg_sleep(10); $$",
    "%s %s %(merchant_id)s",
    "\\'; COMMIT; DROP SCHEMA catalog CASCADE; --",
)
CONTROL = ("\x00", "A100\x00", "\x1b[31mA100", "A1\r\n00", "\x07\x08", "A100\x7f")
INVISIBLE = ("A\u200b100", "\ufeffA100", "\u202eA100", "A100\u2066", "\u00ad")
MIXED_SCRIPTS = ("А100", "Ａ１００", "A１00", "A100٣", "ⅰ00", "Ꭺ100 价格")
EMOJI = ("😀", "A100😀", "👨‍👩‍👧‍👦" * 50, "🇨🇳A100")
OTHER = (
    "",
    " ",
    "-",
    "../../etc/passwd",
    "${jndi:ldap://127.0.0.1/x}",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "null",
    "NaN",
    "A" * 65,
    "9" * 5000,
)
HUGE = ("A" * MB, "价" * (MB // 3))

# Every hostile string: none of them is a valid SKU, order id or product id.
HOSTILE = (*SQL, *CONTROL, *INVISIBLE, *MIXED_SCRIPTS, *EMOJI, *OTHER, *HUGE)

# Values that are not numbers, or not finite, or not in range, as decimal strings.
BAD_DECIMALS = ("NaN", "Infinity", "-Infinity", "1e999999", "abc", "", "1" * 1000, "--5", "0x10", "5 5")

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)

# Raw request bytes that are not the message the method expects.
MALFORMED = (
    b"\xff\xff\xff\xff",
    b"\x0a\x10short",  # a length that runs past the end
    b"\x12\x02\xc3\x28",  # field 2 as a string of invalid UTF-8
    b"\x0a\x02\xed\xa0",  # field 1 as invalid UTF-8 (a lone surrogate's bytes)
    b"\x08\x01\x10\x02",  # string fields sent as varints (wrong types)
    b"\x0b\x0c",  # groups (deprecated wire types)
    b"\x80" * 12,  # a varint that never ends
)
