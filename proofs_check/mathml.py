"""Equations of the HTML report as MathML that wraps: LaTeX cut at top-level signs into pieces
of about one screen line (:func:`split_latex`), each converted by latex2mathml (:func:`mathml`);
LaTeX it cannot read is shown as code, never dropped."""

from __future__ import annotations

import html

# HTML5 needs no namespace on <math>; dropping it keeps the page free of any URL.
_MATHML_NAMESPACE = ' xmlns="http://www.w3.org/1998/Math/MathML"'
PIECE_CHARS = 90  # LaTeX characters per piece of a split equation (about one screen line)


def split_latex(latex: str, width: int = PIECE_CHARS) -> list[str]:
    """Split ``latex`` into pieces of about ``width`` characters at top-level ``=``, ``+`` and
    ``-`` signs (outside every brace group, ``\\left ... \\right`` pair and environment), each
    piece valid LaTeX on its own; an equation with no such sign stays whole."""
    cuts: list[int] = []
    depth, i = 0, 0
    while i < len(latex):
        char = latex[i]
        if char == "\\":  # a command: read its name (or one escaped character such as \{)
            j = i + 1
            while j < len(latex) and latex[j].isalpha():
                j += 1
            name = latex[i + 1:j]
            depth += (name in ("left", "begin")) - (name in ("right", "end"))
            i = max(j, i + 2)
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0 and char in "=+-" and i > 0 and latex[:i].strip():
            cuts.append(i)
        i += 1
    pieces, start = [], 0
    for cut in cuts:
        if cut - start >= width:
            pieces.append(latex[start:cut].strip())
            start = cut
    pieces.append(latex[start:].strip())
    return [p for p in pieces if p]


def mathml(latex: str) -> str:
    """The equation as MathML pieces that wrap (:func:`split_latex`); LaTeX that latex2mathml
    cannot read (an error, or a command it would pass through as raw text) is shown as code,
    never dropped."""
    from latex2mathml.converter import convert

    try:
        pieces = [convert(piece, display="inline").replace(_MATHML_NAMESPACE, "")
                  for piece in split_latex(latex)]
    except Exception:  # latex2mathml raises its own exception types on malformed LaTeX
        pieces = []
    if not pieces or any("\\" in piece for piece in pieces):  # a command it passed through raw
        return f"<div class='eq'><code>{html.escape(latex)}</code></div>"
    return "<div class='eq'>" + "".join(f"<span>{p}</span>" for p in pieces) + "</div>"
