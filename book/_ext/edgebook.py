"""Local Sphinx extension of the book.

* Serves MathJax from the book itself when ``make setup`` could install it (npm package
  ``mathjax``, unpacked under ``book/_mathjax/mathjax``), so readers' maths renders offline;
  otherwise Sphinx's default (MathJax from its CDN) stays in place.
* Adds the book's theme options to those Jupyter Book sets (setting ``html_theme_options`` in
  ``_config.yml`` would replace them, losing the footer and the home page in the navigation).
* Gives ``{glue}`` an ``:alt:`` option, as ``{glue:figure}`` has, so that a figure glued from a
  notebook onto another page (``:doc:``) is described in words and not by its hashed file name.
* Labels the bibliography by author and year, as the text cites (pybtex's ``alpha`` style
  would label it ``[ACBFS02]``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from myst_nb.ext.glue.crossref import ReplacePendingGlueReferences
from myst_nb.ext.glue.directives import PasteAnyDirective
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.transforms.post_transforms import SphinxPostTransform

LOCAL = Path("_mathjax") / "mathjax" / "es5" / "tex-chtml.js"
THEME_OPTIONS = {
    "show_toc_level": 2,
    "use_download_button": True,
    # no second search box in an otherwise empty top bar: the sidebar has one
    "navbar_persistent": [],
}


def _use_local_mathjax(app: Sphinx, config: Config) -> None:
    if (Path(app.confdir) / LOCAL).is_file():
        # html_extra_path copies _mathjax/ to the site root; mathjax_path is relative to _static.
        config.html_extra_path = [*config.html_extra_path, "_mathjax"]
        config.mathjax_path = "../mathjax/es5/tex-chtml.js"


def _theme_options(app: Sphinx, config: Config) -> None:
    config.html_theme_options = {**config.html_theme_options, **THEME_OPTIONS}


class glue_alt(nodes.General, nodes.Element):
    """Holds a glued output until it is resolved, to give its image the ``alt`` text."""


class PasteWithAlt(PasteAnyDirective):
    """``{glue}`` with an ``:alt:`` option for the image it pastes."""

    option_spec = {**PasteAnyDirective.option_spec, "alt": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        pasted = super().run()
        if "alt" not in self.options:
            return pasted
        return [glue_alt("", *pasted, alt=self.options["alt"])]


class ApplyGlueAlt(SphinxPostTransform):
    """After the cross-document glue is resolved, set the alt text and unwrap."""

    default_priority = ReplacePendingGlueReferences.default_priority + 1

    def apply(self, **kwargs) -> None:
        for holder in list(self.document.findall(glue_alt)):
            for image in holder.findall(nodes.image):
                image["alt"] = holder["alt"]
            holder.replace_self(holder.children)


def _surname(person) -> str:
    return " ".join(person.prelast_names + person.last_names).replace("{", "").replace("}", "")


class AuthorYearLabels(BaseLabelStyle):
    """Labels such as "Auer et al., 2002" or "Bubeck and Cesa-Bianchi, 2012"; a letter is added
    to the year when two entries would share a label ("2020a", "2020b")."""

    def format_labels(self, sorted_entries):
        labels = [self._label(entry) for entry in sorted_entries]
        repeated = {label for label, n in Counter(labels).items() if n > 1}
        seen: Counter = Counter()
        for label in labels:
            if label in repeated:
                seen[label] += 1
                label = f"{label}{'abcdefghijklmnopqrstuvwxyz'[seen[label] - 1]}"
            yield label

    @staticmethod
    def _label(entry) -> str:
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        if not people:
            names = entry.fields.get("title", entry.key).split(":")[0]
        elif len(people) == 1:
            names = _surname(people[0])
        elif len(people) == 2:
            names = f"{_surname(people[0])} and {_surname(people[1])}"
        else:
            names = f"{_surname(people[0])} et al."
        return f"{names}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


def setup(app: Sphinx) -> dict:
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    app.add_node(glue_alt)
    app.add_directive("glue", PasteWithAlt, override=True)
    app.add_post_transform(ApplyGlueAlt)
    app.connect("config-inited", _use_local_mathjax, priority=900)
    app.connect("config-inited", _theme_options, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
