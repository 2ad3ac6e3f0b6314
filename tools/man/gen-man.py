#!/usr/bin/env python3
"""Generates libgauth's man pages with pandoc, from their one source each.

  gauth(1)           docs/cli.md (the whole of it)
  gauth-emulator(1)  docs/emulator.md ("Running it" and "Control API")
  libgauth(3)        README.md's first paragraph and the file comments of
                     include/gauth/*.h (the model,
                     ownership, errors, threads, secrets), in gauth.h's
                     order, and docs/abi.md's "Memory handed out"
  gauth_*(3)         the comment above each GAUTH_API declaration of
                     include/gauth/*.h: one page per group of declarations
                     that the header keeps together (no blank line between
                     them), the others of the group as .so links

Usage: gen-man.py SOURCE_DIR OUT_DIR VERSION [PANDOC]
Writes OUT_DIR/man1/*.1, OUT_DIR/man3/*.3, the markdown it gave pandoc in
OUT_DIR/md/, and OUT_DIR/pages.txt (every page and link, one a line:
"man3/gauth_key_free.3 -> gauth_key_up_ref"). Nothing here is hand-written
documentation: a fact is changed in its source, and the pages follow.
"""
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

# ---------------------------------------------------------------- headers --


def strip_comment(lines):
    """The text of a /* ... */ comment given as its source lines."""
    out = []
    for i, line in enumerate(lines):
        s = line.rstrip()
        if i == 0:
            s = re.sub(r"^\s*/\*+ ?", "", s)
        else:
            s = re.sub(r"^\s*\*(?!/) ?", "", s)
        s = re.sub(r"\s*\*+/\s*$", "", s)
        out.append(s)
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def parse_header(path):
    """(file comment lines, [group, ...]); a group is a list of functions,
    each a dict(name, decl, comment=[lines])."""
    with open(path, encoding="utf-8") as f:
        src = f.read().split("\n")
    file_comment = []
    groups = []
    i = 0
    pending = None  # (comment lines, last line index, first line index)
    last_decl_end = -10
    first = True
    while i < len(src):
        line = src[i]
        st = line.strip()
        if st.startswith("/*"):
            j = i
            while "*/" not in src[j]:
                j += 1
            text = strip_comment(src[i : j + 1])
            if first:
                file_comment = text
                first = False
            else:
                pending = (text, j, i)
            i = j + 1
            continue
        first = first and not st
        if st.startswith("GAUTH_API"):
            j = i
            while ";" not in src[j]:
                j += 1
            raw = " ".join(s.strip() for s in src[i : j + 1])
            decl, _, tail = raw.partition(";")
            comment = []
            if pending and pending[1] == i - 1:
                comment = pending[0]
            m = re.search(r"/\*(.*?)\*/", tail)
            if m:
                comment = comment + [m.group(1).strip()]
            decl = re.sub(r"\bGAUTH_(API|NODISCARD)\b", "", decl)
            decl = re.sub(r"\bGAUTH_PRINTF\([^)]*\)", "", decl)
            decl = re.sub(r"\s+", " ", decl).strip()
            decl = re.sub(r"\( ", "(", decl).replace(" )", ")") + ";"
            name = re.search(r"(gauth_[a-z0-9_]+)\s*\(", decl).group(1)
            fn = {"name": name, "decl": decl, "comment": comment}
            # A declaration directly under the previous one (or under its
            # own comment, which is directly under the previous one) stays
            # in its group: the header keeps them together.
            start = pending[2] if pending and pending[1] == i - 1 else i
            if groups and last_decl_end == start - 1:
                groups[-1].append(fn)
            else:
                groups.append([fn])
            last_decl_end = j
            pending = None
            i = j + 1
            continue
        if st:
            pending = None
        i += 1
    return file_comment, groups


# ------------------------------------------------------------- markdown --

ESCAPE = re.compile(r"([\\*_\[\]<>|~^$@&#])")


def md_text(lines):
    """Comment prose as pandoc markdown: code spans and indented code
    blocks kept, every other character that markdown would read escaped."""
    out = []
    prev_blank = True
    in_code = False
    for line in lines:
        if line.startswith("    ") and (prev_blank or in_code):
            if not in_code and out and out[-1] != "":
                out.append("")
            in_code = True
            out.append(line)
            continue
        if in_code and line.strip():
            out.append("")
        in_code = False
        parts = re.split(r"(`[^`]*`)", line)
        esc = "".join(p if p.startswith("`") else ESCAPE.sub(r"\\\1", p) for p in parts)
        esc = re.sub(r"^(\s*)([-+]|\d+\.)(\s)", r"\1\\\2\3", esc)
        out.append(esc)
        prev_blank = not line.strip()
    return "\n".join(out)


def paragraphs(lines):
    text, cur = [], []
    for line in lines + [""]:
        if line.strip():
            cur.append(line)
        elif cur:
            text.append(cur)
            cur = []
    return text


def first_sentence(lines):
    if not lines:
        return ""
    para = " ".join(paragraphs(lines)[0])
    para = re.sub(r"\s+", " ", para)
    # The first sentence: up to a '.', ':' or ';' outside parentheses and
    # quotes that ends a word (not "e.g.").
    depth, quote, end = 0, False, len(para)
    for k, c in enumerate(para):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth = max(0, depth - 1)
        elif c == '"':
            quote = not quote
        elif c in ".:;" and depth == 0 and not quote and (k + 1 == len(para) or para[k + 1] == " "):
            if not re.search(r"(\be\.g|\bi\.e|\.\.)$", para[: k]):
                end = k
                break
    return para[:end].replace("`", "").rstrip(" ,")


def yaml_title(name, section, version):
    return (
        "---\n"
        f"title: {name.upper() if section == '1' else name}\n"
        f"section: {section}\n"
        f"header: libgauth {'manual' if section == '3' else 'commands'}\n"
        f"footer: libgauth {version}\n"
        "---\n\n"
    )


def shifted(md):
    """Markdown with the first H1 dropped and every heading one level up,
    outside fenced code blocks."""
    out, fence = [], False
    dropped = False
    for line in md.split("\n"):
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#+ ", line):
            if line.startswith("# ") and not dropped:
                dropped = True
                continue
            line = line[1:]
        out.append(line)
    return "\n".join(out)


def drop_man_note(text):
    """The text less its paragraph saying it is also a man page (true in
    the markdown doc, nonsense in the page itself)."""
    paras = text.split("\n\n")
    return "\n\n".join(p for p in paras if not ("man" in p and "generated from" in p))


def sections(md):
    """{H2 title: its text, headings below it included} of a markdown doc,
    and the text before the first H2 (after the H1)."""
    parts, title, fence = {}, None, False
    intro = []
    cur = intro
    for line in md.split("\n"):
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("## "):
            title = line[3:].strip()
            cur = parts.setdefault(title, [])
            continue
        if not fence and line.startswith("# "):
            continue
        cur.append(line)
    return drop_man_note("\n".join(intro).strip()), {k: "\n".join(v).strip() for k, v in parts.items()}


def demote(md, by=1):
    out, fence = [], False
    for line in md.split("\n"):
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#+ ", line):
            line = line[by:] if by > 0 else line
        out.append(line)
    return "\n".join(out)


# ----------------------------------------------------------------- pages --


def page_gauth1(src, version):
    with open(os.path.join(src, "docs/cli.md"), encoding="utf-8") as f:
        md = f.read()
    intro, secs = sections(md)
    # The intro's code block is the synopsis; its prose the description.
    m = re.search(r"```sh\n(.*?)```", intro, re.S)
    synopsis = m.group(1) if m else ""
    prose = (intro[: m.start()] + intro[m.end() :]).strip() if m else intro
    body = ["# NAME\n\ngauth \\- Google OIDC and IAM authentication from the command line\n"]
    body.append("# SYNOPSIS\n\n```\n" + synopsis + "```\n")
    body.append("# DESCRIPTION\n\n" + prose + "\n")
    for title, text in secs.items():
        body.append("# " + title + "\n\n" + demote(text) + "\n")
    body.append(
        "# SEE ALSO\n\n**gauth-emulator**(1), **libgauth**(3); "
        "the `docs/` folder of libgauth's source.\n"
    )
    return yaml_title("gauth", "1", version) + "\n".join(body)


def page_emulator1(src, version):
    with open(os.path.join(src, "docs/emulator.md"), encoding="utf-8") as f:
        md = f.read()
    intro, secs = sections(md)
    body = ["# NAME\n\ngauth-emulator \\- Google's auth plane on loopback, for tests and offline work\n"]
    run = secs["Running it"]
    m = re.search(r"```sh\n(.*?)```", run, re.S)
    body.append("# SYNOPSIS\n\n```\n" + m.group(1) + "```\n")
    body.append("# DESCRIPTION\n\n" + intro + "\n")
    body.append("# OPTIONS AND OUTPUT\n\n" + demote(run[: m.start()] + run[m.end() :]) + "\n")
    body.append("# CONTROL API\n\n" + demote(secs["Control API"]) + "\n")
    body.append(
        "# SEE ALSO\n\n**gauth**(1), **libgauth**(3); `docs/emulator.md` in "
        "libgauth's source: the default world, every route, the config file.\n"
    )
    return yaml_title("gauth-emulator", "1", version) + "\n".join(body)


HEADER_ORDER_RE = re.compile(r"#include <gauth/([a-z_]+\.h)>")
SKIP_HEADERS = {"export.h", "version.h"}


def header_order(src):
    with open(os.path.join(src, "include/gauth/gauth.h"), encoding="utf-8") as f:
        names = HEADER_ORDER_RE.findall(f.read())
    listed = [n for n in names if n not in SKIP_HEADERS]
    others = sorted(
        n for n in os.listdir(os.path.join(src, "include/gauth"))
        if n.endswith(".h") and n not in listed and n not in SKIP_HEADERS and n != "gauth.h"
    )
    return listed + others


def conventional(name):
    """What the naming conventions say of a function its header leaves
    without a comment (an object's _up_ref and _free), or None."""
    if name.endswith("_up_ref"):
        return "takes one more reference to the object."
    if name.endswith("_free"):
        return "drops a reference; the last one frees the object. NULL does nothing."
    return None


def common_prefix(names):
    p = os.path.commonprefix(names)
    return p[: p.rfind("_")] if "_" in p else p


def group_page(header, group, siblings, example, version):
    main = group[0]["name"]
    names = ", ".join(fn["name"] for fn in group)
    obj = common_prefix([fn["name"] for fn in group])
    if group[0]["comment"]:
        whatis = first_sentence(group[0]["comment"])
    elif all(conventional(fn["name"]) for fn in group):
        whatis = "references to a %s" % obj
    else:
        whatis = "the %s functions" % obj
    whatis = re.sub(r"\s+", " ", whatis)
    b = [yaml_title(main, "3", version)]
    b.append("# NAME\n\n" + names.replace("_", "\\_") + " \\- " + ESCAPE.sub(r"\\\1", whatis) + "\n")
    syn = "#include <gauth/%s>\n\n" % header + "\n".join(fn["decl"] for fn in group)
    b.append("# SYNOPSIS\n\n```c\n" + syn + "\n```\n\nLink with *-lgauth* (`pkg-config --libs gauth`).\n")
    desc = []
    for fn in group:
        text = md_text(fn["comment"]) if fn["comment"] else (conventional(fn["name"]) or "")
        if len(group) > 1:
            head = "**%s**()" % fn["name"].replace("_", "\\_")
            if text:
                desc.append(head + ": " + text + "\n")
        elif text:
            desc.append(text + "\n")
    if not desc:
        desc.append("Declared in <gauth/%s>; see **libgauth**(3).\n" % header)
    b.append("# DESCRIPTION\n\n" + "\n".join(desc) + "\n")
    if any(fn["decl"].startswith("gauth_status ") for fn in group):
        b.append(
            "# RETURN VALUE\n\n**GAUTH\\_OK** on success; otherwise the failure's "
            "*gauth\\_status*, detailed in *\\*err* when *err* is not NULL "
            "(**libgauth**(3), ERRORS; **gauth\\_status\\_name**(3)).\n"
        )
    if example:
        b.append("# EXAMPLE\n\nFrom <gauth/%s>:\n\n```c\n%s\n```\n" % (header, example))
    # The pages of the same object (gauth_key_*), else of the same header.
    stem = "_".join(main.split("_")[:2]) + "_"
    near = [s for s in siblings if s != main and s.startswith(stem)]
    near = near or [s for s in siblings if s != main]
    see = ["**libgauth**(3)"] + ["**%s**(3)" % s.replace("_", "\\_") for s in near]
    b.append("# SEE ALSO\n\n" + ", ".join(see) + "\n")
    return "\n".join(b)


def header_example(file_comment):
    """The indented code block of a header's file comment, dedented."""
    block = []
    for line in file_comment:
        if line.startswith("    "):
            block.append(line[4:])
        elif block and line.strip():
            break
    return "\n".join(block).rstrip()


def page_libgauth3(src, headers, version):
    with open(os.path.join(src, "include/gauth/gauth.h"), encoding="utf-8") as f:
        top = f.read()
    top_comment = strip_comment(top[: top.index("*/") + 2].split("\n"))
    b = [yaml_title("libgauth", "3", version)]
    b.append("# NAME\n\nlibgauth \\- Google OIDC and IAM authentication for C\n")
    b.append(
        "# SYNOPSIS\n\n```c\n#include <gauth/gauth.h>\n```\n\n"
        "Link with *-lgauth*: `cc app.c $(pkg-config --cflags --libs gauth)`, "
        "or in CMake `find_package(gauth CONFIG)` and the target *gauth::gauth*.\n"
    )
    # What libgauth is: the README's first paragraph; then gauth.h's word on
    # the headers.
    with open(os.path.join(src, "README.md"), encoding="utf-8") as f:
        readme_intro, _ = sections(f.read())
    what = readme_intro.split("\n\n")[0]
    b.append("# DESCRIPTION\n\n" + what + "\n\n"
             + md_text(top_comment[1:] if len(top_comment) > 1 else top_comment) + "\n")
    for header, file_comment, groups in headers:
        text = file_comment[:]
        if text and text[0].startswith("libgauth: "):
            text[0] = text[0][len("libgauth: ") :]
            text[0] = text[0][:1].upper() + text[0][1:]
        title = header[:-2].upper()
        if header == "error.h":
            title = "ERRORS"
        b.append("# %s\n\n*#include <gauth/%s>*\n\n%s\n" % (title, header, md_text(text)))
        if groups:
            pages = ", ".join("**%s**(3)" % g[0]["name"].replace("_", "\\_") for g in groups)
            b.append("Pages: " + pages + ".\n")
    with open(os.path.join(src, "docs/abi.md"), encoding="utf-8") as f:
        _, abi = sections(f.read())
    if "Memory handed out" in abi:
        b.append("# MEMORY\n\n" + demote(abi["Memory handed out"]) + "\n")
    b.append("# SEE ALSO\n\n**gauth**(1), **gauth-emulator**(1); the `docs/` folder of libgauth's source.\n")
    return "\n".join(b)


# ------------------------------------------------------------------ main --


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    src, out, version = sys.argv[1], sys.argv[2], sys.argv[3]
    pandoc = sys.argv[4] if len(sys.argv) > 4 else "pandoc"
    lua = os.path.join(os.path.dirname(os.path.abspath(__file__)), "man.lua")
    for d in ("md", "man1", "man3"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
        for old in os.listdir(os.path.join(out, d)):
            os.unlink(os.path.join(out, d, old))

    pages = {"man1/gauth.1": page_gauth1(src, version),
             "man1/gauth-emulator.1": page_emulator1(src, version)}
    links = {}
    headers = []
    for header in header_order(src):
        file_comment, groups = parse_header(os.path.join(src, "include/gauth", header))
        headers.append((header, file_comment, groups))
        example = header_example(file_comment)
        siblings = [g[0]["name"] for g in groups]
        for g in groups:
            pages["man3/%s.3" % g[0]["name"]] = group_page(header, g, siblings, example, version)
            for fn in g[1:]:
                links["man3/%s.3" % fn["name"]] = g[0]["name"]
    pages["man3/libgauth.3"] = page_libgauth3(src, headers, version)

    def render(item):
        rel, md = item
        mdpath = os.path.join(out, "md", os.path.basename(rel) + ".md")
        with open(mdpath, "w", encoding="utf-8") as f:
            f.write(md)
        r = subprocess.run(
            [pandoc, "--standalone", "--from=markdown-smart", "--to=man",
             "--lua-filter=" + lua, "-o", os.path.join(out, rel), mdpath],
            capture_output=True, text=True)
        return rel, r.returncode, r.stderr

    failed = False
    with ThreadPoolExecutor(max_workers=4) as ex:
        for rel, rc, err in ex.map(render, sorted(pages.items())):
            if rc != 0 or err.strip():
                print("gen-man: pandoc on %s: %s" % (rel, err.strip()), file=sys.stderr)
                failed = failed or rc != 0
    for rel, target in links.items():
        with open(os.path.join(out, rel), "w", encoding="utf-8") as f:
            f.write(".so man3/%s.3\n" % target)
    with open(os.path.join(out, "pages.txt"), "w", encoding="utf-8") as f:
        for rel in sorted(pages):
            f.write(rel + "\n")
        for rel in sorted(links):
            f.write("%s -> %s\n" % (rel, links[rel]))
    print("gen-man: %d pages, %d links in %s" % (len(pages), len(links), out))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
