"""Text for Plotly figures: every app's charts.py escapes person-typed text with this.

plotly.js renders a subset of HTML in titles, labels, legends and hover text
(`<b>`, `<a href>`…), so text must arrive escaped. It reads &lt; &gt; &amp; back
as characters but shows &quot; literally, so quotes are left alone: with <
escaped no tag can open, and a quote is harmless.
"""
from functools import partial
from html import escape as html_escape

escape = partial(html_escape, quote=False)
