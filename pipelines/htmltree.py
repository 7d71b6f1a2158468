"""A parsed HTML page as extraction reads it: one lxml tree, text as BeautifulSoup saw it.

Extraction used to parse with BeautifulSoup on lxml's parser; building bs4's tree in Python
cost more than everything else extraction does (a 15 KB page: ~9 ms against ~0.4 ms for
lxml's own tree). The same libxml2 parser now builds an lxml tree, fed the same decoded
``str`` the same way bs4 fed it (one ``feed``, ``recover``), so markup recovery and
encoding declarations behave as before. What bs4 changed on top of the parser is redone
here, so every text extraction reads is what it read before:

* the page hangs under a document node (:func:`parse`), as bs4's ``soup`` was above
  ``<html>``: "the whole page" walks include ``<html>`` itself, and ``<html>`` can be
  removed like any element;
* bs4 shrank a text that is nothing but ASCII whitespace (outside ``<pre>``/``<textarea>``)
  to one character; nothing reads such a text but for its length, which
  :func:`pipelines.content._tally` measures the way bs4 did, so the tree keeps it as is;
* text inside ``<rt>``/``<rp>`` (ruby glosses) is not page text (bs4 typed those strings
  apart; ``<script>``, ``<style>``, ``<template>`` go before any text is read);
* a removed element leaves its tail text where it was, as a separate string
  (:func:`drop`): bs4's ``decompose`` kept the strings on either side apart, which
  matters wherever texts are joined with a separator or one at a time.

One difference is left: a ``<!DOCTYPE>`` in the middle of a page (a template pasted into
another) was a node in bs4's tree, splitting the text around it in two; libxml2's tree has
no such node. No page seen so far extracts differently for it.

Text is read with ``itertext``, which skips comments and processing instructions but keeps
their tails, as bs4's typed strings did. Elements are keys in dicts and sets as
themselves, never by ``id()``: lxml makes its Python proxies on demand, so an ``id`` is
only stable while something holds the proxy.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TypeAlias

from lxml import etree

Element: TypeAlias = etree._Element
# bs4's soup: the node above <html>. Not an HTML tag name, so no tag set matches it.
DOCUMENT = "document"
_NONWS = re.compile(r"\S+")
_STRIPPED = "nianbao-stripped"


def parse(text: str) -> Element:
    """The page under a document node (never fails: an empty page is an empty node)."""
    parser = etree.HTMLParser(recover=True)
    parser.feed(text)
    root = parser.close()
    doc = etree.Element(DOCUMENT)
    if root is None:
        return doc
    # A page that closes </html> early has more top-level elements after <html>, as bs4
    # had them after its <html> (gov.cn's 公报 pages): all go under the document node.
    tops = [*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()]
    for top in tops:
        doc.append(top)
    for ruby in doc.iter("rt", "rp"):
        for node in ruby.iter():
            if node is not ruby:
                node.tail = None
            if isinstance(node.tag, str):
                node.text = None
    return doc


def is_tag(node: Element) -> bool:
    """An element, not a comment or processing instruction (their ``.tag`` is a function)."""
    return isinstance(node.tag, str)


def tags(node: Element, names: Collection[str] | None = None) -> list[Element]:
    """The elements under ``node`` (not ``node``), in document order; only ``names`` if given."""
    if names is None:
        return list(node.iterdescendants(etree.Element))
    return list(node.iterdescendants(*names))


def first(node: Element, name: str) -> Element | None:
    """The first element called ``name`` under ``node`` (bs4's ``soup.body``, ``soup.title``)."""
    return next(node.iterdescendants(name), None)


def text(node: Element, sep: str = "") -> str:
    """The element's text: its strings (not comments) joined with ``sep``.

    The strings are ``itertext()``'s, collected by XPath in C as plain str (no smart
    strings): the whole page's text lines (``metadata.soup_lines``) took 0.23 ms of a
    county report page by ``itertext``, 0.10 this way (2026-12-03)."""
    return sep.join(_TEXT_NODES(node))


_TEXT_NODES = etree.XPath(".//text()", smart_strings=False)


def has_text(node: Element) -> bool:
    """Any non-blank string inside (bs4's ``get_text(strip=True)`` is not empty)."""
    return any(s.strip() for s in node.itertext())


def classes(node: Element) -> list[str]:
    """The class names, split as bs4 split them."""
    value = node.get("class")
    return _NONWS.findall(value) if value else []


def attached(node: Element, top: Element) -> bool:
    """``node`` is (still) inside ``top``: no ancestor of it was removed."""
    el: Element | None = node
    while el is not None:
        if el is top:
            return True
        el = el.getparent()
    return False


def drop(node: Element) -> None:
    """Take ``node`` out of the tree; the text after it stays, as a string of its own.

    A comment takes its place: it holds the tail, and, like the boundary bs4 left, keeps
    the texts before and after it from merging into one string.
    """
    parent = node.getparent()
    if parent is None:
        return
    mark = etree.Comment()
    try:
        mark.tail = node.tail
    except ValueError:
        # A tail lxml will not take back (NUL, control characters: the decoded page may
        # have them): strip the element in libxml2, which leaves its tail after the mark.
        node.addprevious(mark)
        node.tag = _STRIPPED
        etree.strip_elements(parent, _STRIPPED, with_tail=False)
        return
    node.tail = None
    parent.replace(node, mark)
