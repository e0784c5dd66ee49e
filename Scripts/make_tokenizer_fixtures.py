#!/usr/bin/env python3
"""CLIP tokenizer fixtures for Tests/TeacherTests/CLIPTokenizerTests.swift, written into
Tests/Fixtures/clip/tokenizer/:

  bpe_simple_vocab_16e6.txt.gz   open_clip's BPE file, copied unchanged (OpenAI/open_clip layout)
  hf/vocab.json, hf/merges.txt   the same vocabulary in Hugging Face layout, built the way open_clip's
                                 SimpleTokenizer builds its vocabulary (256 byte symbols, the same with
                                 '</w>', one entry per merge, then <|startoftext|> <|endoftext|>)
  hf/tokenizer_config.json,      Stable Diffusion 2's tokenizer settings (pad_token "!", special tokens as
  hf/special_tokens_map.json     AddedToken objects with normalized=true, model_max_length 77)
  cases.json.gz                  >= 1,000 seeded strings and, for each, the 77 ids of
                                   open_clip      open_clip.tokenizer.SimpleTokenizer (ftfy + html cleaning)
                                   hf_sd2         transformers CLIPTokenizer from hf/ (pads with "!" = 0)
                                   hf_openai      the same vocabulary with OpenAI CLIP's settings (pads with
                                                  <|endoftext|>; the settings are in cases.json.gz's "configs")
                                 and "ftfy_encoding": true where ftfy's mojibake repair (fix_encoding) changes
                                 the text, which the Swift cleaner does not implement.

Deterministic (random.Random(2024)). Needs PyPI open_clip_torch, transformers, ftfy.
Usage: python3 Scripts/make_tokenizer_fixtures.py
"""
import gzip
import json
import os
import random
import shutil
import tempfile

import ftfy
import open_clip
import transformers
from open_clip.tokenizer import SimpleTokenizer, bytes_to_unicode, default_bpe
from transformers import CLIPTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "clip", "tokenizer")

SD2_CONFIG = {
    "add_prefix_space": False,
    "bos_token": {"__type": "AddedToken", "content": "<|startoftext|>", "lstrip": False, "normalized": True,
                  "rstrip": False, "single_word": False},
    "do_lower_case": True,
    "eos_token": {"__type": "AddedToken", "content": "<|endoftext|>", "lstrip": False, "normalized": True,
                  "rstrip": False, "single_word": False},
    "errors": "replace",
    "model_max_length": 77,
    "pad_token": "!",
    "tokenizer_class": "CLIPTokenizer",
    "unk_token": {"__type": "AddedToken", "content": "<|endoftext|>", "lstrip": False, "normalized": True,
                  "rstrip": False, "single_word": False},
}
SD2_SPECIAL = {k: ({kk: vv for kk, vv in v.items() if kk != "__type"} if isinstance(v, dict) else v)
               for k, v in SD2_CONFIG.items() if k.endswith("_token")}
OPENAI_CONFIG = {
    "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
    "pad_token": "<|endoftext|>", "model_max_length": 77, "tokenizer_class": "CLIPTokenizer",
}


def write_hf_folder(folder, config, special=None):
    merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")
    merges = merges[1:49152 - 256 - 2 + 1]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({v: i for i, v in enumerate(vocab)}, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if special is not None:
        with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
            json.dump(special, f, indent=2)


# ---------------------------------------------------------------------------------------------- strings

WORDS = ("a photo of the cat dog portrait woman man child old young smiling face hair eyes red blue green "
         "golden dark light studio lighting painting oil canvas sculpture marble bronze highly detailed sharp "
         "focus trending artstation octane render unreal engine cinematic dramatic soft beautiful ugly tiny huge "
         "astronaut riding horse on mars city night street rain neon cyberpunk forest mountain lake sunset "
         "wearing hat glasses beard freckles curly straight long short black white brown blonde ginger "
         "happy sad angry surprised 3d render photorealistic 8k hdr bokeh 35mm f/1.8 canon nikon").split()
ADJ = "red blue tiny huge old young happy sad shiny rusty golden wooden glass furry".split()
NOUNS = "cat dog robot woman man child astronaut dragon castle car tree house teapot owl".split()
PLACES = "beach forest city moon desert kitchen library garden mountain ocean".split()
GREEK = "ΟΔΟΣ ΣΑΣ Σίσυφος ΑΘΗΝΑ ἀλήθεια λόγος ΣΟΦΙΑ Σ σ ς καλημέρα ΟΔΥΣΣΕΥΣ ὈΔΥΣΣΕΎΣ".split()
CYRILLIC = "Привет мир Москва ЁЛКА съешь ещё этих мягких французских булок".split()
OTHER_SCRIPTS = ["مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "안녕하세요 세계", "こんにちは世界",
                 "カタカナ ひらがな", "Բարեւ աշխարհ", "გამარჯობა", "İstanbul ıIiİ", "Straße STRASSE ẞ",
                 "Ωmega ΩΜΕΓΑ", "ǅemal ǄEMAL ǆ", "Ĳssel ĳs", "Ærøskøbing Œuvre", "Zürich Ñandú çà",
                 "ᏣᎳᎩ", "ሰላም", "ཀ་ཁ", "ᚠᚢᚦ", "Tiếng Việt", "Ελληνικά 123", "ʼn ŉ", "Ⅻ Ⅳ ⅷ", "½ ¾ ² ³ ₁₂",
                 "١٢٣ ۴۵۶ ०१२", "𝒥ohn ℋancock", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ﬁne ﬂow ﬀ ﬃ ﬄ ﬅ ﬆ"]
CJK = ["一只猫坐在窗台上", "赛博朋克风格的城市夜景", "富士山と桜", "東京タワーの夜景、高精細", "한국어 문장입니다",
       "漢字かな交じり文", "中文，标点。符号！", "「引用」『二重』", "ＡＢＣ１２３ｘｙｚ", "ｶﾀｶﾅ ﾊﾝｶｸ", "ﾊﾟﾋﾟﾌﾟ",
       "ＬＯＵＤ　ＮＯＩＳＥＳ", "全角！？＆＃", "ﾟﾞ", "￠￡￢￣￤￥￦", "￨￩￪￫￬￭￮", "ﾡﾢﾣ ﾤﾥﾦ"]
EMOJI = ["👍", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "1️⃣", "❤️", "🧑🏿‍🚀", "😀😃😄", "🐱‍👤",
         "👩🏻‍🦰", "✨🔥💯", "☕️", "🤷‍♀️", "🏴󠁧󠁢󠁷󠁬󠁳󠁿", "©️®️™️"]
PUNCT = ["!!!", "...", "?!?", "--", "—", "–", "((x))", "@#$%^&*", "a.b,c;d:e", "~`|\\/", "<>", "[{()}]",
         "''", '""', "'", "'s", "''s", "!'s", ".'re", "***", "+-=", "_", "__init__", "§¶†‡•", "«»‹›", "¿¡",
         "…", "·", "#hashtag", "@mention", "e-mail", "http://example.com/a?b=c&d=e", "C++", "C#", "f(x)=x^2",
         "!", "a!", "!a", "!!a!!"]
CONTRACTIONS = ["it's", "don't", "we're", "I've", "I'm", "we'll", "he'd", "IT'S", "DON'T", "We'Re", "o'clock",
                "rock'n'roll", "y'all'd've", "'tis", "ma'am", "it’s", "don’t", "we’re", "‘single’", "“double”",
                "„low“", "‚low‘", "‛reversed‛", "ʼmodifier", "it‘s", "l'amour", "c'est", "'S", "'T", "'RE"]
HTML = ["&amp;", "&lt;b&gt;bold&lt;/b&gt;", "&quot;hi&quot;", "&#39;", "&#x27;", "&eacute;", "&EACUTE;", "P&EACUTE;REZ",
        "&nbsp;", "&amp;amp;", "&amp;amp;amp;amp;", "&notit;", "&not", "&#0;", "&#128;", "&#x110000;", "&#xD800;",
        "&copy 2020", "&copy;2020", "<b>&amp;</b>", "&Jscr;ohn", "&HilbertSpace;", "&checkmark;", "&ntilde; &Ntilde; &NTILDE; &nTILDE;",
        "BUNDESSTRA&SZLIG;E", "&amp", "&ampx", "&#65;&#66;&#x43;", "&#65", "&#1114111;", "&#99999999999999999999;",
        "&#x1F600;", "&lt;3", "&frac12;", "&hellip;", "&rsquo;s", "&ldquo;quoted&rdquo;", "&#8217;",
        "&AMP;", "&GT;", "&LT;", "&QUOT;", "&Auml;&AUML;", "&unknown;", "& alone", "&;", "&#;", "&#x;",
        "a&b", "fish&chips", "&aacute&eacute", "&NewLine;", "&Tab;x", "&#9;", "&#13;", "&#x80;&#x9F;",
        "&#x7F;", "&#xFFFE;", "&#xFDD0;", "&#x1FFFF;", "&#11;", "&lt", "&gtx", "&sup2;&SUP2;", "&szlig;",
        "&AElig;&aelig;", "&thetasym;", "&bne;", "&nGt;", "&acE;", "line1 &amp;\nline2 <x> &amp;", "&amp;\n&lt;"]
WHITESPACE = ["  a \t b\n\nc  ", "\u3000wide\u3000space", "a\xa0b", "a\r\nb", "a\u2028b\u2029c", "a\x85b", "\t\t",
              "a\u2003b\u2009c", "a\u200bb", "a\u180eb", "a\x1cb\x1dc\x1ed\x1ff", "a\u202fb\u205fc", "a\x0bb\x0cc",
              "a\u1680b", "\n\n\n", "x\ry", " leading", "trailing ", "a     b"]
CONTROL = ["\x00a", "a\x07b", "\x1b[31mred\x1b[0m", "\x1b[1;32mbold\x1b[m", "\ufeffbom", "a\u200db", "a\u200cb",
           "\u206atext\u206f", "a\ufff9b\ufffbc", "a\ufffcb", "\x7fdel", "\x80\x81\x8d\x8f\x90\x9d\x9f", "\x93quote\x94",
           "\x96dash", "a\u200eb\u200fc", "\u202aembed\u202c", "\x1b[", "\x1b[2Jclear", "\x1b]0;title\x07"]
COMBINING = ["e\u0301", "a\u0308\u0301", "Z\u0334\u0321\u0324\u0344a\u0337l\u0338g\u0335o\u0336", "n\u0303", "\u0301alone",
             "o\u0302\u0323", "\u1e9b\u0323", "q\u0307\u0323", "\u212b", "\u2126", "\u0958", "ﬅ", "A\u030A", "\u1100\u1161\u11a8",
             "\u30ab\u3099", "\u0915\u093c", "e\u0301\u0301\u0301", "\u0644\u0627", "\u0e01\u0e34\u0e48"]
MOJIBAKE = ["Ã©tÃ©", "cafÃ©", "âœ” done", "Ã¼ber", "Ãƒ", "Â£100", "sÃ£o paulo", "â€œquotedâ€\x9d", "Ð¿Ñ€Ð¸Ð²ÐµÑ‚"]
SPECIAL = ["<|startoftext|>", "<|endoftext|>", "<|ENDOFTEXT|>", "a<|endoftext|>b", "<start_of_text>", "<end_of_text>",
           "x <start_of_text> y", "<|startoftext|><|endoftext|>", "<|endoftext", "endoftext|>", "!<|endoftext|>!"]


def caption(rng):
    a, n, p = rng.choice(ADJ), rng.choice(NOUNS), rng.choice(PLACES)
    forms = [f"a photo of a {a} {n} on the {p}", f"A {a.upper()} {n} in a {p}, highly detailed, 8k",
             f"portrait of a {n}, {a} lighting, trending on artstation", f"{n.capitalize()} at the {p}!",
             f"an oil painting of a {a} {n} by greg rutkowski and alphonse mucha", f"{a} {n}; {p}: {rng.randint(1, 9999)}"]
    return rng.choice(forms)


def long_prompt(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words))


def random_mix(rng, pools):
    chars = "".join(pools)
    n = rng.randint(1, 40)
    return "".join(rng.choice(chars) for _ in range(n))


def make_strings():
    rng = random.Random(2024)
    s = ["", " ", "\n", "a", "A", "1", "!", "cat", "a photo of a cat"]
    s += [caption(rng) for _ in range(220)]
    s += [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) for _ in range(120)]
    s += PUNCT + [rng.choice(PUNCT) + rng.choice(WORDS) + rng.choice(PUNCT) for _ in range(40)]
    s += [str(rng.randint(0, 10 ** rng.randint(1, 12))) for _ in range(25)]
    s += [f"{rng.uniform(-1000, 1000):.{rng.randint(0, 6)}f}" for _ in range(15)]
    s += ["1,000,000", "2nd 3rd 4th", "10x10", "1990s", "3.14159265358979", "007", "1e-5", "0x1F", "v1.5", "SD2.0"]
    s += CONTRACTIONS + [f"{rng.choice(CONTRACTIONS)} {rng.choice(WORDS)} {rng.choice(CONTRACTIONS)}" for _ in range(30)]
    s += GREEK + CYRILLIC + OTHER_SCRIPTS
    s += [" ".join(rng.choice(GREEK + CYRILLIC + OTHER_SCRIPTS) for _ in range(rng.randint(2, 5))) for _ in range(40)]
    s += COMBINING + [rng.choice(WORDS) + rng.choice(COMBINING) + rng.choice(WORDS) for _ in range(20)]
    s += EMOJI + [f"{rng.choice(WORDS)} {rng.choice(EMOJI)}{rng.choice(EMOJI)} {rng.choice(WORDS)}" for _ in range(40)]
    s += CJK + [rng.choice(CJK) + rng.choice(WORDS) + rng.choice(CJK) for _ in range(25)]
    s += HTML + [f"{rng.choice(WORDS)} {rng.choice(HTML)} {rng.choice(WORDS)}" for _ in range(30)]
    s += WHITESPACE + [rng.choice(WHITESPACE).join(rng.choice(WORDS) for _ in range(3)) for _ in range(20)]
    s += CONTROL + [rng.choice(WORDS) + rng.choice(CONTROL) + rng.choice(WORDS) for _ in range(15)]
    s += MOJIBAKE + SPECIAL
    s += [long_prompt(rng, rng.randint(60, 200)) for _ in range(40)]
    s += [long_prompt(rng, n) for n in (70, 72, 73, 74, 75, 76, 77, 78)]
    s += [", ".join(caption(rng) for _ in range(rng.randint(5, 12))) for _ in range(15)]
    s += ["x" * n for n in (1, 50, 300)] + ["ab" * 200, "😀" * 80, "猫" * 120, "!" * 100, "1" * 90, "a " * 100]
    pools = ["abcdefghijklmnopqrstuvwxyz", "ABCXYZ", "0123456789", " \t\n", "!?.,;:'\"-()&#<>", "éàüßçñ", "ΣσςΑβ",
             "Жжя", "猫犬の", "👍🏽‍❤️", "\u0301\u0308", "’‘“”", "ﬁＡ１\u3000", "&amp;&lt;", "İı"]
    s += [random_mix(rng, pools) for _ in range(250)]
    s += [random_mix(rng, [rng.choice(pools), rng.choice(pools)]) for _ in range(60)]
    seen, out = set(), []
    for x in s:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    shutil.copyfile(default_bpe(), os.path.join(OUT, "bpe_simple_vocab_16e6.txt.gz"))
    hf = os.path.join(OUT, "hf")
    write_hf_folder(hf, SD2_CONFIG, SD2_SPECIAL)
    oc = SimpleTokenizer(bpe_path=os.path.join(OUT, "bpe_simple_vocab_16e6.txt.gz"))
    sd2 = CLIPTokenizer.from_pretrained(hf)
    with tempfile.TemporaryDirectory() as tmp:
        write_hf_folder(tmp, OPENAI_CONFIG)
        openai = CLIPTokenizer.from_pretrained(tmp)
    assert sd2.pad_token_id == 0 and openai.pad_token_id == 49407

    strings = make_strings()
    assert len(strings) >= 1000, len(strings)
    cases = []
    for text in strings:
        ids_oc = oc(text)[0].tolist()
        ids_sd2 = sd2(text, padding="max_length", max_length=77, truncation=True)["input_ids"]
        ids_openai = openai(text, padding="max_length", max_length=77, truncation=True)["input_ids"]
        assert len(ids_sd2) == 77 and len(ids_openai) == 77
        mojibake = ftfy.fix_text(text) != ftfy.fix_text(text, fix_encoding=False)
        cases.append({"text": text, "open_clip": ids_oc, "hf_sd2": ids_sd2, "hf_openai": ids_openai,
                      "ftfy_encoding": mojibake})
    doc = {
        "generator": "Scripts/make_tokenizer_fixtures.py",
        "versions": {"open_clip": open_clip.__version__, "transformers": transformers.__version__,
                     "ftfy": ftfy.__version__},
        "configs": {"hf_sd2": SD2_CONFIG, "hf_openai": OPENAI_CONFIG},
        "cases": cases,
    }
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with gzip.GzipFile(os.path.join(OUT, "cases.json.gz"), "wb", mtime=0) as f:
        f.write(data)
    excluded = sum(c["ftfy_encoding"] for c in cases)
    def content(ids, pad):
        while ids and ids[-1] == pad:
            ids = ids[:-1]
        return ids
    differ = sum(content(content(c["open_clip"], 0), 49407) != content(c["hf_openai"], 49407) for c in cases)
    print(f"{OUT}: {len(cases)} strings ({excluded} with ftfy mojibake repair; open_clip and transformers ids differ on {differ} of them)")


if __name__ == "__main__":
    main()
