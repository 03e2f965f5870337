"""make_sentences.py - builds sentences.txt and sentence_pairs.jsonl from the English HTML
of "The Debian Administrator's Handbook" (Debian package debian-handbook, licence
GPL-2+ or CC-BY-SA-3.0; see SOURCE.md). Deterministic: the same package version gives
the same files byte for byte. Standard library only.

    python3 datasets/samples/make_sentences.py [--deb debian-handbook_*.deb]

Without --deb it runs `apt-get download debian-handbook` into a temporary folder
(Debian's package archive; no other network access). Steps:
  1. every <div class="para"> of html/en-US/*.html (files in sorted order), text only;
     inline code (command names, file names, literal input/output) is marked, and
     program listings, screens and tables are left out;
  2. paragraphs split into sentences at ". ", "! ", "? " before a capital letter,
     with common abbreviations (e.g., i.e., etc., vs.) protected;
  3. kept: prose sentences of 8..40 words that start with a capital letter, end with
     . ! or ?, hold no inline code, no URL, no path or shell characters, and are
     mostly letters; duplicates dropped;
  4. sentences.txt: 1,000 of them spread evenly over the book (in book order);
     sentence_pairs.jsonl: 300 pairs of consecutive kept sentences of one paragraph,
     spread evenly, as {"text": first, "text_b": second}.
"""
import argparse
import glob
import html.parser
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
N_SENTENCES, N_PAIRS = 1000, 300
CODE = "\x01"  # marks inline code inside collected text
INLINE_CODE = {"code", "kbd", "tt", "samp", "var"}
SKIP_BLOCKS = {"pre", "table", "script", "style"}


class Paras(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paras = []       # finished paragraphs
        self.stack = []       # open tags: (tag, is_para)
        self.buf = []         # text of the innermost open paragraph
        self.saved = []       # text of enclosing paragraphs, resumed after a nested one
        self.skip = 0         # depth inside SKIP_BLOCKS

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "hr", "meta", "link", "input"):
            return
        cls = dict(attrs).get("class") or ""
        is_para = tag == "div" and "para" in cls.split()
        if tag in SKIP_BLOCKS:
            self.skip += 1
        if is_para:
            self.saved.append(self.buf)
            self.buf = []
        if tag in INLINE_CODE and self.buf is not None:
            self.buf.append(CODE)
        self.stack.append((tag, is_para))

    def handle_endtag(self, tag):
        while self.stack:
            t, is_para = self.stack.pop()
            if t in SKIP_BLOCKS:
                self.skip -= 1
            if is_para:
                self.paras.append("".join(self.buf))
                self.buf = self.saved.pop()
            if t == tag:
                break

    def handle_data(self, data):
        if not self.skip and any(p for _, p in self.stack):
            self.buf.append(data)


ABBREV = ["e.g.", "i.e.", "etc.", "vs.", "cf.", "Mr.", "Dr.", "Inc.", "approx.", "no."]


def sentences_of(para):
    text = re.sub(r"\s+", " ", para).strip()
    for a in ABBREV:
        text = text.replace(a, a.replace(".", "\x02"))
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z\u201c\"(])", text)
    return [p.replace("\x02", ".").strip() for p in parts if p.strip()]


BAD = re.compile(r"[/{}<>|=_$~\\`*#@\[\]]|https?:|www\.|\.\w{2,4}\b(?<!\.\w{2})")


def keep(s):
    if CODE in s or BAD.search(s.replace("e.g.", "").replace("i.e.", "").replace("etc.", "")):
        return False
    words = s.split()
    if not 8 <= len(words) <= 40:
        return False
    if not (s[0].isupper() and s[-1] in ".!?"):
        return False
    letters = sum(c.isalpha() for c in s)
    return letters >= 0.75 * len(s.replace(" ", ""))


def spread(n_have, n_want):
    """n_want indices spread evenly over range(n_have), deterministic."""
    return [i * n_have // n_want for i in range(n_want)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deb", help="debian-handbook_*.deb (default: apt-get download it)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        deb = args.deb
        if not deb:
            subprocess.run(["apt-get", "download", "debian-handbook"], cwd=tmp, check=True)
            deb = glob.glob(os.path.join(tmp, "debian-handbook_*.deb"))[0]
        print("source:", os.path.basename(deb), file=sys.stderr)
        subprocess.run(["dpkg-deb", "-x", deb, os.path.join(tmp, "x")], check=True)
        pages = sorted(glob.glob(os.path.join(tmp, "x/usr/share/doc/debian-handbook/html/en-US/*.html")))
        if not pages:
            sys.exit("make_sentences: no English HTML pages in " + deb)
        singles, pairs, seen = [], [], set()
        for page in pages:
            parser = Paras()
            with open(page, encoding="utf-8") as f:
                parser.feed(f.read())
            for para in parser.paras:
                sents = sentences_of(para)
                ok = [keep(s) for s in sents]
                for s, k in zip(sents, ok):
                    if k and s not in seen:
                        seen.add(s)
                        singles.append(s)
                for i in range(len(sents) - 1):
                    if ok[i] and ok[i + 1]:
                        pairs.append((sents[i], sents[i + 1]))
    if len(singles) < N_SENTENCES or len(pairs) < N_PAIRS:
        sys.exit(f"make_sentences: only {len(singles)} sentences / {len(pairs)} pairs")
    with open(os.path.join(HERE, "sentences.txt"), "w", encoding="utf-8") as f:
        for i in spread(len(singles), N_SENTENCES):
            f.write(singles[i] + "\n")
    with open(os.path.join(HERE, "sentence_pairs.jsonl"), "w", encoding="utf-8") as f:
        for i in spread(len(pairs), N_PAIRS):
            f.write(json.dumps({"text": pairs[i][0], "text_b": pairs[i][1]}, ensure_ascii=False) + "\n")
    print(f"make_sentences: {len(singles)} sentences and {len(pairs)} pairs found; "
          f"wrote {N_SENTENCES} and {N_PAIRS}", file=sys.stderr)


if __name__ == "__main__":
    main()
