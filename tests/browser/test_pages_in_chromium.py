"""The web pages in a real browser: Debian's chromium driven by Playwright.

A server runs in demo mode on a small demo book (the same path `make run` takes). Each
test signs in through the form and checks what only a browser shows: that the Content
Security Policy blocks nothing the pages need (HTMX, ECharts, our scripts), that no
script fails, that HTMX forms carry their CSRF token, and that Chinese text is rendered
with a CJK font rather than boxes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PASSWORDS = {"ops": "River-Stone-27", "compliance": "Maple-Cloud-58", "huaxin_mgr": "Jade-Harbor-35",
             "infosec": "Copper-Gate-93"}
# Collects CSP violations and uncaught errors before any page script runs.
WATCH = """
window.__problems = [];
document.addEventListener('securitypolicyviolation',
  e => window.__problems.push('csp: ' + e.violatedDirective + ' ' + e.blockedURI));
window.addEventListener('error', e => window.__problems.push('error: ' + e.message));
"""



def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("browser")
    port = _free_port()
    env = {**os.environ, "WEIWAI_DEMO_MODE": "true", "WEIWAI_DATABASE_URL": f"sqlite:///{work / 'weiwai.db'}",
           "WEIWAI_DEMO_KEY_FILE": str(work / "demo-keys.json"), "WEIWAI_PORT": str(port)}
    for name in ("WEIWAI_DATA_KEYS", "WEIWAI_ACTIVE_KEY_ID", "WEIWAI_BLIND_INDEX_KEY", "WEIWAI_SECRET_KEY"):
        env.pop(name, None)
    weiwai = [str(Path(sys.executable).with_name("weiwai"))]
    subprocess.run([*weiwai, "db", "upgrade"], env=env, cwd=work, check=True, capture_output=True)
    subprocess.run([*weiwai, "demo", "--accounts", "300", "--cycle-days", "6"], env=env, cwd=work, check=True,
                   capture_output=True, timeout=600)
    log = (work / "server.log").open("wb")
    process = subprocess.Popen([*weiwai, "serve", "--no-jobs"], env=env, cwd=work, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{url}/healthz"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the server did not answer /healthz:\n" + (work / "server.log").read_text()[-3000:])
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: `make test` installs Debian's chromium and fonts-noto-cjk"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def _signed_in(browser, server: str, username: str):
    context = browser.new_context(locale="zh-CN")
    context.add_init_script(WATCH)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.goto(f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login" not in page.url, f"{username} could not sign in: {page.inner_text('body')[:800]}"
    return context, page, console_errors


def _problems(page, console_errors: list[str]) -> list[str]:
    return [*page.evaluate("window.__problems"), *console_errors]


def test_lender_pages_run_under_the_content_security_policy(browser, server):
    context, page, console_errors = _signed_in(browser, server, "ops")
    try:
        for path in ("/", "/accounts", "/agencies", "/compliance", "/privacy", "/infosec"):
            response = page.goto(f"{server}{path}")
            page.wait_for_load_state("networkidle")
            assert response.status == 200, path
            assert response.headers.get("content-security-policy"), path
            assert _problems(page, console_errors) == [], path
        page.goto(f"{server}/")
        page.wait_for_load_state("networkidle")
        # ECharts draws its canvases: the charts ran under the policy.
        assert page.locator("canvas").count() >= 1
        # HTMX ran: filtering the accounts swaps the results without a full page load.
        page.goto(f"{server}/accounts")
        page.wait_for_load_state("networkidle")
        page.evaluate("window.__marker = 'same page'")
        page.locator("#account-filters select").first.select_option(index=1)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__marker") == "same page"
        assert _problems(page, console_errors) == []
    finally:
        context.close()


def test_htmx_post_carries_the_csrf_token(browser, server):
    context, page, console_errors = _signed_in(browser, server, "huaxin_mgr")
    try:
        page.goto(f"{server}/queue")
        page.wait_for_load_state("networkidle")
        with page.expect_response(lambda response: response.url.endswith("/queue/distribute")) as answer:
            page.locator("form[action='/queue/distribute'] button[type=submit]").click()
        assert answer.value.status == 200
        assert _problems(page, console_errors) == []
        # The same POST without the token is refused.
        refused = context.request.post(f"{server}/queue/distribute", form={}, max_redirects=0)
        assert refused.status == 403
    finally:
        context.close()


def test_chinese_text_is_drawn_with_a_cjk_font(browser, server):
    context, page, _errors = _signed_in(browser, server, "ops")
    try:
        page.goto(f"{server}/")
        text = page.locator("h1").first.inner_text()
        assert any("\u4e00" <= char <= "\u9fff" for char in text)
        # Without a CJK font every character is the same empty box (.notdef): two
        # different characters in the page's own font then look exactly alike.
        page.evaluate("""() => {
            for (const [id, char] of [['glyph-a', '委'], ['glyph-b', '外']]) {
                const span = document.createElement('span');
                span.id = id; span.textContent = char; span.style.fontSize = '64px';
                document.body.prepend(span);
            }
        }""")
        first = page.locator("#glyph-a").screenshot()
        second = page.locator("#glyph-b").screenshot()
        assert first != second
    finally:
        context.close()
