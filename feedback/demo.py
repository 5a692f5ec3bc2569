"""Demo feedback: a few hundred believable pieces across channels and segments, tagged,
partly triaged, and linked to the demo roadmap items (products/demo.py runs first;
without roadmap items nothing is linked). Idempotent: a product that already has
feedback is left alone. Bulk inserts keep it fast on SQLite."""
import datetime as dt
import random

from django.utils import timezone

from . import sentiment
from .models import Channel, Feedback, FeedbackLink, FeedbackPortal, Segment, Tag

PER_PRODUCT = 110

ORGANISATIONS = [
    "Acme Logistics", "Globex", "Initech", "Umbrella Health", "Stark Retail", "Wayne Finance", "Hooli",
    "Vandelay Imports", "Soylent Foods", "Cyberdyne Systems", "Tyrell Insurance", "Wonka Confectionery",
    "Nakatomi Trading", "Oscorp Labs", "Pied Piper", "Dunder Mifflin", "Massive Dynamic", "Gringotts Bank",
]
FIRST = ["Kim", "Lee", "Ana", "Omar", "Sofia", "Jonas", "Priya", "Mateo", "Aisha", "Tom", "Yuki", "Lena",
         "Carlos", "Fatima", "Noah", "Ines", "Ravi", "Chloe", "Ben", "Mia"]
LAST = ["Nguyen", "Schmidt", "Okafor", "Rossi", "Kowalski", "Haddad", "Silva", "Larsen", "Tanaka", "Dubois",
        "Murphy", "Novak", "Costa", "Patel", "Berg"]

# Per product: (text, tags, theme keywords that match roadmap items of that product)
TEXTS = {
    "smart-reply": [
        ("The suggested replies are too formal for our chat channel; customers notice the tone.", ["tone"], ["tone"]),
        ("Love it: agents answer twice as fast with the suggestions, and CSAT went up.", ["speed"], []),
        ("Suggestions make up refund policies that don't exist. That is dangerous and it hurts our reputation.", ["accuracy", "hallucination"], ["hallucination", "grounding"]),
        ("Please support German and French replies, half our tickets are not in English.", ["languages"], ["language", "multilingual"]),
        ("Suggestions take 3-4 seconds to appear, so annoying: agents have already started typing by then.", ["latency"], ["latency", "speed"]),
        ("Great feature, our new hires rely on it during their first weeks.", ["onboarding"], []),
        ("We need to see why a suggestion was made - which article or past ticket it came from.", ["explainability"], ["grounding"]),
        ("The replies ignore the customer's previous messages in the thread.", ["context", "accuracy"], ["grounding"]),
        ("Would be great to set a tone per brand: playful for one, formal for another.", ["tone"], ["tone"]),
        ("Agents can't give feedback on a bad suggestion, so it never improves.", ["feedback-loop"], ["feedback buttons"]),
        ("Suggestions are fine but the button placement makes agents miss them.", ["ux"], []),
        ("Absolutely fantastic for password-reset tickets, saves us hours every day.", ["speed"], ["password"]),
        ("Terrible suggestions for billing disputes, agents have stopped using it there.", ["accuracy", "billing"], ["hallucination"]),
        ("Can we get usage numbers per agent? Managers want to coach on it.", ["reporting"], []),
        ("The Spanish suggestions are machine-translated and sound awkward.", ["languages", "tone"], ["language", "multilingual"]),
        ("Works well, no complaints from the team so far.", [], []),
        ("Our compliance team needs the suggestions to never include personal data.", ["privacy", "compliance"], []),
        ("Please let us turn it off for VIP accounts.", ["controls"], []),
    ],
    "churn-radar": [
        ("The weekly risk scores arrive on Monday afternoon, we plan our week in the morning.", ["timing"], ["real-time"]),
        ("We saved two large accounts thanks to the early warning. Brilliant.", ["impact"], []),
        ("I don't trust a score I can't explain to the account owner. Show the drivers.", ["explainability"], ["drivers", "shap"]),
        ("Too many false alarms on seasonal customers; CS is ignoring the alerts now.", ["accuracy", "alerts"], ["calibration"]),
        ("Please push the at-risk list into Salesforce so reps see it where they work.", ["integration", "crm"], ["crm"]),
        ("The score should account for support ticket volume, that's our best signal.", ["signals"], ["ticket", "product-usage"]),
        ("Love the new dashboard, executives finally look at retention weekly.", ["dashboard"], []),
        ("We need a playbook per risk reason, not just a number.", ["playbooks"], ["playbook"]),
        ("Scores for small accounts look random. Frustrating.", ["accuracy"], ["calibration"]),
        ("Can we export the risk list to CSV?", ["export"], []),
        ("Slack alerts when a top account crosses high risk would be great.", ["alerts", "integration"], ["slack"]),
        ("The model missed the churn of our biggest customer entirely. Very disappointing.", ["accuracy"], ["signal"]),
        ("Useful, but the UI is slow with more than 2,000 accounts.", ["performance"], ["real-time"]),
        ("Good work, the risk reasons match what our CSMs hear on calls.", ["explainability"], []),
        ("Please let us mark an account as 'handled' so it stops showing up.", ["workflow"], ["playbook"]),
        ("Renewal date should be part of the risk view.", ["signals"], ["signal"]),
    ],
    "search-ranking": [
        ("Searching for 'iphone case' shows phones first, cases on page two.", ["relevance"], ["semantic", "ranking v2"]),
        ("Conversion from search is up since the new ranking, great job.", ["conversion"], []),
        ("Out-of-stock items still rank at the top. Customers are annoyed.", ["availability"], ["stock"]),
        ("Typos like 'addidas' return no results at all, which is frustrating.", ["spelling"], ["spelling"]),
        ("We need to boost our own brand products for a campaign next month.", ["merchandising"], ["for merchandisers"]),
        ("Search results feel random on mobile, the same query gives different orders.", ["consistency"], ["learning-to-rank"]),
        ("Synonyms please: 'sofa' and 'couch' should find the same things.", ["synonyms"], ["synonym"]),
        ("Love the new filters, finding the right size is much easier.", ["filters"], []),
        ("Personalised results would help returning customers a lot.", ["personalisation"], ["personalised"]),
        ("The ranking ignores reviews; poorly rated products rank high.", ["relevance", "reviews"], ["ranking v2"]),
        ("Search is painfully slow during sales events, sometimes 5 seconds. Customers give up.", ["latency"], []),
        ("Merchandisers need to pin a product to position one for a query.", ["merchandising"], ["search analytics"]),
        ("Zero-result searches should suggest something instead of a blank page.", ["zero-results"], ["zero-results"]),
        ("Excellent relevance for brand searches, no complaints.", ["relevance"], []),
        ("Please explain to us why a product ranks where it does.", ["explainability"], ["search analytics"]),
        ("The German storefront ranks English products first.", ["languages"], []),
    ],
}
GENERIC = [
    ("Onboarding was confusing; we didn't know where to start.", ["onboarding"], []),
    ("Support answered quickly and solved it. Thank you!", ["support"], []),
    ("Pricing is unclear for teams above 50 seats.", ["pricing"], []),
    ("We need SSO before our security team approves the rollout.", ["security", "sso"], []),
    ("The API documentation is excellent.", ["api"], []),
    ("An audit log of who changed settings is required for us.", ["compliance"], []),
]

CHANNEL_WEIGHTS = [
    (Channel.SUPPORT, 30), (Channel.INTERVIEW, 12), (Channel.SURVEY, 20), (Channel.SALES, 12),
    (Channel.EMAIL, 10), (Channel.INTERNAL, 8), (Channel.API, 5), (Channel.FORM, 8),
]
SEGMENT_BY_CHANNEL = {
    Channel.SALES: [(Segment.PROSPECT, 7), (Segment.CUSTOMER, 3)],
    Channel.INTERNAL: [(Segment.INTERNAL, 8), (Segment.EXECUTIVE, 2)],
}
DEFAULT_SEGMENTS = [(Segment.CUSTOMER, 80), (Segment.PROSPECT, 8), (Segment.INTERNAL, 7), (Segment.EXECUTIVE, 5)]


def _pick(rng, weighted):
    values, weights = zip(*weighted)
    return rng.choices(values, weights=weights, k=1)[0]


def _match_items(items, keywords):
    """Roadmap items whose title or theme mentions one of keywords."""
    found = []
    for item in items:
        hay = f"{item.title} {item.theme}".lower()
        if any(k in hay for k in keywords):
            found.append(item)
    return found


def seed(ctx):
    from products.roadmap.models import RoadmapItem

    pm = ctx.users.get("pm")
    now = timezone.now()
    for p_index, product in enumerate(ctx.products):
        if Feedback.objects.filter(product=product).exists():
            continue
        rng = random.Random(f"pmhub-feedback-{product.slug}")
        texts = TEXTS.get(product.slug, []) + GENERIC
        items = list(RoadmapItem.objects.filter(product=product))
        rows, row_tags, row_links = [], [], []
        for n in range(PER_PRODUCT):
            text, tags, keywords = texts[n % len(texts)] if n < len(texts) else rng.choice(texts)
            channel = _pick(rng, CHANNEL_WEIGHTS)
            segment = _pick(rng, SEGMENT_BY_CHANNEL.get(channel, DEFAULT_SEGMENTS))
            org = "" if segment in (Segment.INTERNAL, Segment.EXECUTIVE) else rng.choice(ORGANISATIONS)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if segment == Segment.INTERNAL:
                org_domain = "pmhub.example"
            elif org:
                org_domain = org.split()[0].lower() + ".example"
            else:
                org_domain = "example.com"
            email = f"{first}.{last}@{org_domain}".lower() if rng.random() < 0.7 else ""
            # Recent weeks busier than older ones; a spread over about six months.
            days_ago = int(rng.triangular(0, 180, 10))
            received = now - dt.timedelta(days=days_ago, hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
            score, label = sentiment.score(text)
            status = Feedback.Status.NEW if days_ago < 14 else _pick(
                rng, [(Feedback.Status.REVIEWED, 5), (Feedback.Status.PLANNED, 3), (Feedback.Status.DECLINED, 1),
                      (Feedback.Status.DONE, 1), (Feedback.Status.NEW, 2)])
            rating = None
            if channel in (Channel.SURVEY, Channel.FORM) or rng.random() < 0.2:
                rating = max(1, min(5, round(3 + 2 * score + rng.uniform(-0.8, 0.8))))
            rows.append(Feedback(
                product=product, text=text, channel=channel, segment=segment, organisation=org,
                stakeholder_name=f"{first} {last}", stakeholder_email=email, rating=rating, status=status,
                received_at=received, sentiment=score, sentiment_label=label,
                created_by=pm if channel in (Channel.INTERVIEW, Channel.INTERNAL) else None,
            ))
            row_tags.append(tags)
            matches = _match_items(items, keywords) if keywords else []
            row_links.append(matches[:2] if status != Feedback.Status.NEW or rng.random() < 0.3 else [])
        created = Feedback.objects.bulk_create(rows, batch_size=500)
        tag_objs = {}
        Tag.objects.bulk_create([Tag(product=product, name=t) for t in {t for ts in row_tags for t in ts}],
                                ignore_conflicts=True)
        tag_objs = {t.name: t for t in Tag.objects.filter(product=product)}
        through = Feedback.tags.through
        through.objects.bulk_create([through(feedback_id=fb.pk, tag_id=tag_objs[t].pk)
                                     for fb, ts in zip(created, row_tags) for t in ts], batch_size=1000)
        links = [FeedbackLink(feedback=fb, roadmap_item=item, importance=rng.choice([1, 1, 2, 2, 3, 0]), created_by=pm)
                 for fb, its in zip(created, row_links) for item in its]
        FeedbackLink.objects.bulk_create(links, batch_size=1000)
        ctx.note(f"{len(created)} pieces of feedback for {product.slug} ({len(links)} linked to the roadmap)")
        if not FeedbackPortal.objects.filter(product=product).exists():
            import secrets

            FeedbackPortal.objects.create(product=product, token=secrets.token_urlsafe(24), enabled=p_index == 0)
            ctx.note(f"public feedback link for {product.slug}")
    seed_themes(ctx)


def seed_themes(ctx):
    """Group each demo product's feedback into themes once (idempotent: grouped products are left)."""
    from feedback.themes.models import ThemeState
    from feedback.themes.services import themes_regroup

    for product in ctx.products:
        if ThemeState.objects.filter(product=product, version__gt=0).exists():
            continue
        if not Feedback.objects.filter(product=product).exists():
            continue
        state = themes_regroup(product=product)
        ctx.note(f"feedback themes for {product.slug}: {state.run_message}")
