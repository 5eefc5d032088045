"""Small helpers that write C source text (literals, arrays, identifiers, comments)."""

from __future__ import annotations

import math
import re

import numpy as np

# C99/C11/C23 and C++ keywords and alternative tokens: a model name must not be one of them
# (the library compiles as C++ too), nor the start of a reserved identifier.
C_KEYWORDS = frozenset(
    """
    auto break case char const continue default do double else enum extern float for goto if inline
    int long register restrict return short signed sizeof static struct switch typedef union
    unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary
    _Noreturn _Static_assert _Thread_local alignas alignof bool constexpr false nullptr
    static_assert thread_local true typeof typeof_unqual
    and and_eq asm bitand bitor catch char8_t char16_t char32_t class co_await co_return
    co_yield compl concept const_cast consteval constinit decltype delete dynamic_cast explicit
    export friend mutable namespace new noexcept not not_eq operator or or_eq private protected
    public reinterpret_cast requires static_cast template this throw try typeid typename using
    virtual wchar_t xor xor_eq main
    """.split()
)

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def is_c_identifier(name: str) -> bool:
    return bool(_IDENT.match(name)) and "__" not in name and name not in C_KEYWORDS


def to_c_identifier(text: str) -> str:
    """Best-effort C identifier from free text ("" when nothing usable is left)."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", text)
    s = re.sub(r"_+", "_", s).strip("_")
    if s and s[0].isdigit():
        s = "m_" + s
    return s if is_c_identifier(s) else ""


def c_i32(v) -> str:
    v = int(v)
    if not -(2**31) <= v < 2**31:
        raise ValueError(f"{v} is not an int32")
    return "(-2147483647 - 1)" if v == -(2**31) else str(v)


def c_float(v) -> str:
    """A float32 value as a C float literal that reads back to the same float (9 digits, f)."""
    f = float(np.float32(v))
    if not math.isfinite(f):
        raise ValueError(f"non-finite float {f}")
    s = f"{f:.9g}"
    if "e" not in s and "." not in s:
        s += ".0"
    return s + "f"


def c_string(text: str) -> str:
    """A C string literal (ASCII; everything else as octal escapes; no trigraphs)."""
    out = []
    for b in str(text).encode("utf-8"):
        ch = chr(b)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "?":
            out.append("\\?")
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def c_comment_line(text: str) -> str:
    """Text safe inside a /* */ comment: no comment delimiters, no trigraphs (C99 translates
    ??/ and friends even inside comments, and -Wtrigraphs warns), line breaks as spaces."""
    s = str(text).replace("*/", "* /").replace("/*", "/ *")
    s = re.sub(r"\?(?=\?)", "? ", s)
    return " ".join(s.splitlines())


def c_comment_text(text: str) -> str:
    """Text safe inside a /* */ comment, on one line, runs of white space as one space."""
    return " ".join(c_comment_line(text).split())


def c_array(ctype: str, name: str, values, *, per_line: int = 20, static: bool = True, comment: str = "",
            fmt=None, indent: str = "    ") -> str:
    """``static const ctype name[n] = {...};`` (n >= 1)."""
    vals = np.asarray(values).reshape(-1)
    if fmt is None:
        if ctype in ("int32_t",):
            fmt = c_i32
        elif ctype == "float":
            fmt = c_float
        else:
            fmt = str
    items = [fmt(v) for v in vals.tolist()]
    if not items:
        raise ValueError(f"empty C array {name}")
    lines = []
    for i in range(0, len(items), per_line):
        lines.append(indent + ", ".join(items[i : i + per_line]) + ",")
    head = f"{'static ' if static else ''}const {ctype} {name}[{len(items)}] = {{"
    cm = f"/* {c_comment_text(comment)} */\n" if comment else ""
    return cm + head + "\n" + "\n".join(lines) + "\n};\n"


class CData:
    """The const data of a generated source, in order (arrays, parameter structs), and its
    size in bytes (flash): what the per-op parameter emitters write into."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.weights_bytes = 0

    def add(self, text: str) -> None:
        self.parts.append(text)

    def array(self, ctype: str, cname: str, values, comment: str = "") -> str:
        vals = np.asarray(values).reshape(-1)
        size = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "int32_t": 4, "float": 4}[ctype]
        self.weights_bytes += size * vals.size
        per_line = 24 if size == 1 else 8
        self.parts.append(c_array(ctype, cname, vals, per_line=per_line, comment=comment))
        return cname

    def dual_array(self, cname: str, offset_bytes, paired_bytes, comment: str, rows_bytes=None) -> str:
        """A recurrent weight array in its two encodings (runtime edgelstm_config.h), one compiled in;
        with ``rows_bytes`` a third one, the rows encoding of the MVE path (EDGELSTM_LSTM_ROWS)."""
        a = np.asarray(offset_bytes, dtype=np.uint8).reshape(-1)
        b = np.asarray(paired_bytes, dtype=np.uint8).reshape(-1)
        assert a.size == b.size
        self.weights_bytes += a.size

        def text(v: np.ndarray) -> str:
            return "EDGELSTM_ALIGNED4 " + c_array("int8_t", cname, v.view(np.int8), per_line=24)

        if rows_bytes is not None:
            r = np.asarray(rows_bytes, dtype=np.uint8).reshape(-1)
            assert r.size == a.size
            self.parts.append(
                f"/* {c_comment_text(comment)}: bytes of i and f w + 128, of g and o w + 128 (below) or w "
                f"(EDGELSTM_LSTM_PAIRED: DSP and SSE2 kernels); EDGELSTM_LSTM_ROWS (MVE): the 4 rows of a "
                f"unit one after the other, w itself */\n"
                f"#if EDGELSTM_LSTM_ROWS\n{text(r)}#elif !EDGELSTM_LSTM_PAIRED\n{text(a)}#else\n{text(b)}#endif\n")
            return cname
        self.parts.append(
            f"/* {c_comment_text(comment)}: bytes of i and f w + 128, of g and o w + 128 (below) or w "
            f"(EDGELSTM_LSTM_PAIRED: DSP and SSE2 kernels) */\n"
            f"#if !EDGELSTM_LSTM_PAIRED\n{text(a)}#else\n{text(b)}#endif\n")
        return cname

    def float_array_text(self, cname: str, values, comment: str) -> str:
        """A float32 array's text (counted, not added: the front end places it)."""
        vals = np.asarray(values, dtype=np.float32).reshape(-1)
        self.weights_bytes += 4 * vals.size
        return c_array("float", cname, vals, per_line=6, comment=comment)
