#!/usr/bin/python3
# status_dom.py - reads an HTML document (the DOM of GET /status as
# headless Chromium serialised it) and prints what test_status_page.sh
# checks, one fact a line:
#   count TAG N          elements of TAG (script, iframe, object, embed, img)
#   id ID TEXT           the text of each element that has an id
#   row TEXT<TAB>...     the cells of each notification or subscription row
#                        (tr class="row"), prefixed by its section's id
#   ep TEXT<TAB>...      the cells of each endpoint row (tr class="ep")
#   li CLASS TEXT        each recent warning or error
#   attr NAME            an attribute whose name starts with "on" (a handler)
# Text is the element's text content, as the DOM holds it (entities read).
#
# Part of pxtsgw. License: GPL-2.0-or-later. Standard library only.
#
#   status_dom.py FILE
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}
COUNTED = ("script", "iframe", "object", "embed", "img")


class Dom(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []          # [tag, attrs, text parts]
        self.counts = {t: 0 for t in COUNTED}
        self.out = []
        self.section = ""
        self.cells = []          # the td texts of the row being read

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in self.counts:
            self.counts[tag] += 1
        for name, _ in attrs:
            if name.lower().startswith("on"):
                self.out.append("attr " + name)
        if tag == "section":
            self.section = a.get("id", "")
        if tag not in VOID:
            self.stack.append([tag, a, []])

    def handle_startendtag(self, tag, attrs):
        if tag in self.counts:
            self.counts[tag] += 1

    def handle_data(self, data):
        for e in self.stack:
            e[2].append(data)

    def handle_endtag(self, tag):
        while self.stack:
            t, a, parts = self.stack.pop()
            self.emit(t, a, "".join(parts))
            if t == tag:
                break

    def emit(self, tag, a, text):
        if tag == "tr" and a.get("class") in ("row", "ep"):
            self.out.append(self.cells_line(a["class"], text))
        if tag == "td":
            self.cells.append(text)
        if tag == "tr":
            self.cells = []
        if a.get("id"):
            self.out.append("id %s %s" % (a["id"], " ".join(text.split())))
        if tag == "li":
            self.out.append("li %s %s" % (a.get("class", ""), text))

    def cells_line(self, kind, _text):
        cells = "\t".join(self.cells)
        return ("row %s\t%s" % (self.section, cells)) if kind == "row" else ("ep " + cells)


def main():
    d = Dom()
    with open(sys.argv[1], encoding="utf-8") as f:
        d.feed(f.read())
    d.close()
    for t in COUNTED:
        print("count %s %d" % (t, d.counts[t]))
    for line in d.out:
        print(line)


if __name__ == "__main__":
    main()
