"""The articles panel's actions (ui.articles) on a real store, without a browser."""

from __future__ import annotations

from qa import api
from index.settings import Settings
from ui import articles


def test_paste_indexes_under_the_given_title_and_reports_progress(empty_settings):
    seen = []
    msg = articles.add_text("  Harbour news ", "The new ferry carries 240 cars.\r\nIt sails daily.",
                            empty_settings, progress=lambda d, t: seen.append((d, t)))
    assert msg.startswith("Added “Harbour news”")
    (a,) = api.list_articles(settings=empty_settings)
    assert a.title == "Harbour news" and "\r" not in api.get_article(a.id, settings=empty_settings).text
    assert seen and seen[-1][0] == seen[-1][1] > 0  # progress reached the total
    assert articles.choices(empty_settings) == [("Harbour news", a.id)]
    answer = api.ask("How many cars does the ferry carry?", settings=empty_settings)
    assert "240" in answer.text


def test_upload_keeps_file_names_refuses_big_and_unsupported_files(tmp_path):
    s = Settings(data_dir=tmp_path / "data", seed_dir=None, max_file_mb=0.001)  # 1 kB
    ok = tmp_path / "page.html"
    ok.write_text("<html><title>Town hall</title><body><script>x()</script>"
                  "<p>The town hall reopened on Monday.</p></body></html>")
    big = tmp_path / "big.txt"
    big.write_text("word " * 400)
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    msg = articles.add_uploads([str(ok), str(big), str(pdf)], s)
    assert "Added “Town hall”" in msg
    assert "big.txt: 0.0 MB is over the 0.001 MB upload limit (QA_MAX_FILE_MB)" in msg
    assert "scan.pdf: unsupported file type" in msg
    (a,) = api.list_articles(settings=s)
    assert a.source == "upload:page.html" and "x()" not in api.get_article(a.id, settings=s).text


def test_errors_are_one_line_statuses_not_exceptions(empty_settings):
    assert articles.add_text("t", "   ", empty_settings) == "Paste the article text first."
    assert articles.add_url("", empty_settings) == "Type a URL first."
    assert articles.add_url("ftp://example.com/x", empty_settings).startswith("Error: ")
    assert articles.remove(None, empty_settings) == "Choose an article to remove."
    assert articles.remove("0000", empty_settings).startswith("Error: no article with id '0000'")
    assert articles.add_uploads([], empty_settings) == "Choose a file first."


def test_remove_deletes_the_article(empty_settings):
    articles.add_text("Gone soon", "The bridge closes for repairs in May.", empty_settings)
    (a,) = api.list_articles(settings=empty_settings)
    assert articles.remove(a.id, empty_settings) == "Removed “Gone soon”."
    assert api.list_articles(settings=empty_settings) == []


def test_long_article_lists_show_the_newest_first_and_are_capped(empty_settings, monkeypatch):
    from index.types import Document
    from qa import api
    from ui import articles
    monkeypatch.setattr(articles, "MAX_LISTED", 3)
    store = api.open_store(empty_settings, seed=False)
    added = store.add_documents([Document(f"Note {i}", f"Note number {i} was filed on Monday.", f"n{i}")
                                 for i in range(5)])
    listed = articles.choices(empty_settings)
    assert [t for t, _ in listed] == ["Note 4", "Note 3", "Note 2"]
    assert articles.count(empty_settings) == len(added) == 5


def test_search_over_titles_and_sites_keeps_ticked_articles(empty_settings):
    import json
    from index.types import Document
    store = api.open_store(empty_settings, seed=False)
    a, b, c = store.add_documents([
        Document("Harbour bridge reopens", "The bridge reopened on Tuesday.", "s1",
                 url="https://www.lowmoorgazette.example/bridge", published="2025-03-04",
                 site="The Lowmoor Gazette"),
        Document("Bus drivers strike", "Drivers walked out on Monday.", "s2",
                 url="https://northfieldpost.example/strike", published="2025-03-12"),
        Document("Library opens", "The library opened its doors.", "s3")])
    assert articles.choices(empty_settings) == [
        ("Bus drivers strike — northfieldpost.example, 12 March 2025", b.id),
        ("Harbour bridge reopens — The Lowmoor Gazette, 4 March 2025", a.id), ("Library opens", c.id)]
    assert [i for _, i in articles.choices(empty_settings, "gazette")] == [a.id]  # site name
    assert [i for _, i in articles.choices(empty_settings, "NORTHFIELD")] == [b.id]  # host
    assert [i for _, i in articles.choices(empty_settings, "librar")] == [c.id]  # title
    assert articles.choices(empty_settings, "100%_") == []  # LIKE wildcards are plain text
    # a ticked article stays listed (first) while the search shows others
    assert [i for _, i in articles.choices(empty_settings, "strike", keep=[c.id])] == [c.id, b.id]
    assert articles.sites(empty_settings) == [
        ("The Lowmoor Gazette (lowmoorgazette.example, 1)", "lowmoorgazette.example"),
        ("northfieldpost.example (1)", "northfieldpost.example")]


def test_feed_url_adds_every_entry_and_reports_each(tmp_path):
    from news_fixtures import Item, NewsServer, rss
    s = Settings(data_dir=tmp_path / "data", seed_dir=None, allow_private_urls=True)
    server = NewsServer()
    try:
        items = [Item(f"Story {i}", f"https://gazette.example/{i}", "Tue, 04 Mar 2025 09:30:00 GMT",
                      content="".join(f"<p>Story {i} paragraph {k} says {i * 10 + k} boats sailed today "
                                      f"from the harbour of town {i}.</p>" for k in range(6)))
                 for i in range(5)]
        url = server.add("/feed.xml", rss("Gazette", items), ctype="application/rss+xml")
        seen = []
        msg = articles.add_url(url, s, on_entry=lambda d, n, t: seen.append((d, n, t)))
    finally:
        server.close()
    assert msg == "Added 5 articles: “Story 0”, “Story 1”, “Story 2” and 2 more."
    assert seen == [(i, 5, f"Story {i - 1}") for i in range(1, 6)]
    assert articles.add_url("http://127.0.0.1:9/feed", Settings(data_dir=tmp_path / "d2", seed_dir=None)
                            ).startswith("Error: http://127.0.0.1:9/feed: refused")
