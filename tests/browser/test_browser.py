#!/usr/bin/python3
"""Headless Chromium against a corio::web app (tests/browser/browser_app.cpp).

    test_browser.py PATH/TO/browser_app

Checks, with clients corio did not write:
- the browser's EventSource reads SSE events (type, data, id) and closing it
  cancels the server's generator (the app counts it in /stats);
- the browser's WebSocket (with its permessage-deflate offer) gets a text and
  a binary message echoed and a clean close 1000;
- /docs renders the OpenAPI document fetched from /openapi.json.

Needs chromium, chromium-driver and python3-selenium (Debian): without them
the test prints CORIO_SKIPPED and CTest reports it skipped.
"""
import json
import shutil
import subprocess
import sys
import time
import urllib.request


def skip(why):
    print(f"CORIO_SKIPPED: {why}")
    sys.exit(0)


def fail(why):
    print(f"FAILED: {why}")
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage: test_browser.py PATH/TO/browser_app")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        skip("python3-selenium not installed: apt-get install python3-selenium")
    browser = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        skip("chromium not installed: apt-get install chromium chromium-driver")

    app = subprocess.Popen([sys.argv[1]], stdout=subprocess.PIPE, text=True)
    driver = None
    try:
        line = app.stdout.readline()
        if not line.startswith("port "):
            fail(f"browser_app did not report its port: {line!r}")
        base = f"http://127.0.0.1:{int(line.split()[1])}"

        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-extensions"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        wait = WebDriverWait(driver, 30)

        driver.get(base + "/")
        wait.until(lambda d: d.find_element(By.ID, "ws").text != "waiting"
                   or d.find_element(By.ID, "sse").text.startswith("error"))
        sse = driver.find_element(By.ID, "sse").text
        ws = driver.find_element(By.ID, "ws").text
        print(f"sse: {sse}")
        print(f"ws:  {ws}")
        if sse != "n=0#0,n=1#1,n=2#2":
            fail(f"EventSource saw {sse!r}")
        if not ws.startswith("echo: hello browser|bin:1.2.3 close 1000"):
            fail(f"WebSocket saw {ws!r}")
        if "permessage-deflate" not in ws:
            fail(f"the browser's deflate offer was not taken: {ws!r}")

        cancelled = 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with urllib.request.urlopen(base + "/stats", timeout=5) as r:
                cancelled = json.load(r)["events_cancelled"]
            if cancelled >= 1:
                break
            time.sleep(0.1)
        print(f"event streams cancelled by their client: {cancelled}")
        if cancelled < 1:
            fail("closing the EventSource did not cancel the server's generator")

        driver.get(base + "/docs")
        wait.until(lambda d: d.find_element(By.ID, "status").text.startswith(("OpenAPI", "Could not")))
        status = driver.find_element(By.ID, "status").text
        title = driver.find_element(By.ID, "title").text
        operations = driver.find_element(By.ID, "ops").text
        print(f"docs: {title} / {status}")
        if not status.startswith("OpenAPI 3.1.0:"):
            fail(f"/docs status {status!r}")
        if title != "corio browser check 1.0" or "/items/{item_id}" not in operations:
            fail(f"/docs did not render the routes: {title!r} {operations[:200]!r}")
        print("browser check passed")
    finally:
        if driver is not None:
            driver.quit()
        app.terminate()
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()


if __name__ == "__main__":
    main()
