"""What a slide shows of a cell's outputs (tools/slides.py; the notebooks and the site keep them all).

Left off: tqdm's progress bars (in a stderr stream, or a widget view in a kernel with ipywidgets),
and the check of an exercise the student has not answered yet ("❌ Not yet: ...", with its indented
lines: diffusion_helpers/exercises/_core.py's report), which in a deck of the notebooks as shipped
is every check. A widget view cannot move on a slide: it becomes one line naming its controls (the
figure the widget drew once stays, as an output of its own).
"""
import html
import re

import nbformat

WIDGET = "application/vnd.jupyter.widget-view+json"
PROGRESS = re.compile(r"\d+%\|.*\|\s*\d+/\d+")  # a tqdm bar: " 45%|####5     | 450/1000 [00:02<00:03, ...]"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colours in a printout
NOT_YET = re.compile(r"^❌ Not yet:.*(?:\n[ \t]+.*)*\n?", re.M)  # an unanswered check, with its indented lines


def slide_outputs(outputs):
    """A cell's outputs as a slide shows them (see the module's docstring); the notebook's own are kept."""
    kept = []
    for output in outputs:
        data = output.get("data", {})
        if output.output_type == "stream":
            text = "\n".join(line for line in re.split(r"\r\n|\r|\n", output.text) if not PROGRESS.search(line))
            text = NOT_YET.sub("", text)
            if text.strip():
                kept.append(nbformat.v4.new_output("stream", name=output.name, text=text.rstrip("\n") + "\n"))
        elif WIDGET in data:
            plain = data.get("text/plain", "")
            names = re.findall(r"description='([^']*)'", plain)
            if PROGRESS.search(plain) or not names:
                continue
            note = (f"<p class='series-widget-note'>Controls in the notebook: {', '.join(names)}. Move them in "
                    "JupyterLab or Colab; here the figure shows one setting.</p>")
            kept.append(nbformat.v4.new_output("display_data", data={"text/html": note}))
        else:
            kept.append(output)
    return kept


def printout(output, text, size=None):
    """A printout (stream or plain text) holding ``text``; at ``size`` px where that is given (an
    HTML <pre>: the lab template sizes a stream's text by the style sheet alone)."""
    if size is None:
        if output.output_type == "stream":
            return nbformat.v4.new_output("stream", name=output.name, text=text + "\n")
        return nbformat.v4.new_output(output.output_type, data={"text/plain": text},
                                      **({"execution_count": output.execution_count} if "execution_count" in output else {}))
    kind = "series-stderr" if output.get("name") == "stderr" else "series-printout"
    return nbformat.v4.new_output("display_data", data={
        "text/html": f'<pre class="{kind}" style="font-size: {size:.1f}px">{html.escape(text)}</pre>'})
