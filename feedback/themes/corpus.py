"""A synthetic feedback corpus with known themes mixed with noise: what the benchmark and
the tests measure grouping quality on (adjusted Rand index, purity), and demo data."""
from __future__ import annotations

import random

THEMES = {
    "export": (["export to CSV", "export the report to Excel", "download the data as a spreadsheet",
                "a CSV export of every table", "exporting results to Excel"],
               ["finance needs", "we paste numbers by hand", "for our monthly reporting", "to share with the board"]),
    "dark_mode": (["a dark mode", "a dark theme", "night mode for the dashboard", "dark colours in the app"],
                  ["my eyes hurt at night", "the white screen is blinding", "everyone on the team asks for it"]),
    "slow": (["the dashboard is very slow to load", "pages take ten seconds to load", "loading is sluggish",
              "charts load slowly", "everything is slow in the morning"],
             ["we lose time every day", "it times out sometimes", "performance got worse last month"]),
    "sso": (["single sign-on with Okta", "SSO login through Azure AD", "SAML single sign-on",
             "log in with our company SSO"], ["security requires it", "IT will not approve without SSO",
                                              "password resets waste hours"]),
    "mobile_crash": (["the mobile app crashes", "the iPhone app crashes on launch", "Android app crashes when uploading",
                      "the app keeps crashing on my phone"], ["after the last update", "every single time",
                                                              "I had to reinstall it"]),
    "pricing": (["the price is too expensive", "pricing per seat is too high", "the plan costs too much",
                 "a cheaper plan for small teams"], ["we may cancel at renewal", "competitors charge half",
                                                     "budget is tight this year"]),
    "notifications": (["too many email notifications", "notification emails are spam", "turn off the alert emails",
                       "fewer notifications please"], ["my inbox is flooded", "I ignore them all now",
                                                       "let me choose a daily digest"]),
    "search": (["search does not find documents", "search results are irrelevant", "the search box misses exact names",
                "better search filters"], ["I scroll instead", "finding anything takes ages", "fuzzy matching would help"]),
    "calendar": (["sync with Google Calendar", "Outlook calendar integration", "meetings should appear in our calendar",
                  "calendar sync for deadlines"], ["we double book", "reminders would be great", "the team lives in Outlook"]),
    "api_limits": (["the API rate limit is too low", "API requests get throttled", "raise the API quota",
                    "429 errors from the API"], ["our nightly sync fails", "integrations break", "we batch but still hit it"]),
}
OPENERS = ["Please add", "We really need", "I wish there was", "Our team wants", "Can you fix:", "Honestly,", "Request:",
           "Feedback:", "It would be great to have", "Big problem:"]
NOISE = [
    "Thanks for the quick reply yesterday", "Who is our account manager now", "Great webinar last week",
    "Is there a conference this year", "I changed roles, remove me from the list", "The onboarding call went well",
    "Can we get an invoice copy", "Happy new year to the team", "Where do I find the release notes",
    "Our contract renewal is next month", "Love the new logo", "What time zone is support in",
    "The training video was useful", "Please update my billing address", "Nice talking to you at the meetup",
]

# One-off remarks: a polite opener and a random run of everyday words, so no two say the same.
NOISE_WORDS = (
    "apple harbour violin meadow ticket lantern granite puzzle orbit velvet canyon pepper glacier "
    "museum saddle thunder compass biscuit ladder marble falcon tulip anchor blanket cactus dolphin "
    "engine feather garden hammer island jacket kettle lemon mirror needle ocean pillow quilt river "
    "sandal tiger umbrella village walnut yacht zebra bakery cinema desert forest gallery hotel "
    "jungle kitchen library market orchard palace quarry rooftop stadium temple tunnel valley "
    "window airport bridge castle dentist elevator factory garage hospital laundry mountain "
    "nursery office parking railway school theatre uniform vineyard warehouse bicycle candle "
    "drum envelope fountain guitar helmet igloo jigsaw kayak lighthouse magnet notebook oyster"
).split()

SYLLABLES = "ba ko ri mel tan su vor pi gla den fu rax lo mi ster qua bel zon tri pa".split()


def _word(rnd) -> str:
    """A made-up word: one-off remarks share almost none, like real off-topic notes."""
    return "".join(rnd.choice(SYLLABLES) for _ in range(3))


def make_corpus(n: int, *, noise_share: float = 0.15, seed: int = 7, themes: int | None = None):
    """(texts, labels): n pieces; labels are theme names, or "noise" for one-off remarks."""
    rnd = random.Random(seed)
    names = list(THEMES)[: themes or len(THEMES)]
    texts, labels = [], []
    for _ in range(n):
        if rnd.random() < noise_share:
            words = [_word(rnd) for _ in range(rnd.randint(4, 8))]
            texts.append(f"{' '.join(words).capitalize()}.")
            labels.append("noise")
            continue
        name = rnd.choice(names)
        asks, reasons = THEMES[name]
        text = f"{rnd.choice(OPENERS)} {rnd.choice(asks)}"
        if rnd.random() < 0.7:
            text += f", {rnd.choice(reasons)}"
        if rnd.random() < 0.3:
            text += f". {rnd.choice(NOISE).lower()}"
        texts.append(text + ".")
        labels.append(name)
    return texts, labels


def purity(truth: list, predicted) -> float:
    """Share of grouped pieces whose theme's most common true label is theirs (noise excluded
    from the predicted side: an unassigned piece is neither right nor wrong here)."""
    from collections import Counter, defaultdict

    by = defaultdict(list)
    for t, p in zip(truth, predicted):
        if p != -1:
            by[p].append(t)
    grouped = sum(len(v) for v in by.values())
    return sum(Counter(v).most_common(1)[0][1] for v in by.values()) / grouped if grouped else 0.0
