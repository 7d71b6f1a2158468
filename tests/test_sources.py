"""The sources file: valid files load, broken ones say exactly what is wrong."""

from __future__ import annotations

import pytest

from nianbao.sources import SourcesError, from_url, load


def _write(tmp_path, text: str):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_a_valid_file(tmp_path):
    path = _write(
        tmp_path,
        '[[sources]]\nname = "fangzheng"\norgan = "方正县人民政府"\n'
        'start_urls = ["http://www.fangzheng.gov.cn/"]\n',
    )
    [src] = load(path)
    assert src.name == "fangzheng" and src.organ == "方正县人民政府"
    assert src.domains() == ["www.fangzheng.gov.cn"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[sources]]\nname = 'a b'\nstart_urls = ['http://x.cn/']\n", "'name' must be a slug"),
        ("[[sources]]\nname = 'a'\n", "'start_urls' must be a non-empty list"),
        ("[[sources]]\nname = 'a'\nstart_urls = ['ftp://x.cn/']\n", "not an http(s) URL"),
        (
            "[[sources]]\nname = 'a'\nstart_urls = ['http://x.cn/']\n[[sources]]\nname = 'a'\nstart_urls = ['http://y.cn/']\n",
            "duplicate name",
        ),
        ("[[sources]]\nname = 'a'\nstart_urls = ['http://x.cn/']\nstart_url = 1\n", "unknown keys"),
        ("name = ", "not valid TOML"),
        ("", "expected one or more [[sources]]"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, text, message):
    with pytest.raises(
        SourcesError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("[", r"\[")
        .replace("]", r"\]"),
    ):
        load(_write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(SourcesError, match="no such sources file"):
        load(tmp_path / "nope.toml")


def test_ad_hoc_url_source():
    assert from_url("http://127.0.0.1:8080/x").name == "127.0.0.1-8080"
    with pytest.raises(SourcesError):
        from_url("not a url")
