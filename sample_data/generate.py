"""Generate the sample accounts and reps of the Heidelberg region from its OSM extract (seeded).

Run from the repository root::

    python sample_data/generate.py            # rewrites sample_data/accounts.csv and reps.csv
    python sample_data/generate.py --out DIR  # writes them to DIR instead

The output is byte-for-byte reproducible (fixed seed, sorted inputs, no clock, no hash-order
dependence), so the committed CSVs can be checked against a fresh run.

Where the accounts come from
----------------------------
The extract is mostly roads: of its ~1,460 shop/amenity/craft/office features most are car parks,
shelters and benches, which no field rep sells to. Every feature of a category a rep would visit
(shops, pharmacies, doctors, restaurants, cafés, car dealers and garages, crafts, offices, fuel
stations, schools, kindergartens, hospitals...) becomes an account with its real name and
address where OSM has them. Those are 123, so the list is filled up to ``--count`` with
generated businesses at real tagged street addresses of the extract (OSM address points), spread
over the towns of the region. Generated names are plausible German business names, clearly not
taken from OSM; the notes column says which accounts are real OSM features (``OSM node/123``).
Addresses missing on a real feature are completed from the nearest named street and the nearest
tagged town, with a generated house number.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import osmium
from scipy.spatial import cKDTree

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script from a checkout without installing
    sys.path.insert(0, str(HERE.parent))

from routeplanner.io.accounts import read_accounts, write_accounts_csv  # noqa: E402
from routeplanner.io.opening_hours import parse_opening_hours, parse_time_range  # noqa: E402
from routeplanner.io.reps import parse_days_off, read_reps, write_reps_csv  # noqa: E402
from routeplanner.model import (  # noqa: E402
    Account,
    GeoPoint,
    LunchBreak,
    Rep,
    VisitRule,
    WeeklyHours,
)
from routeplanner.units import MINUTE  # noqa: E402

SEED = 20261123
DEFAULT_OSM = HERE / "heidelberg.osm.pbf"
REFERENCE_DAY = date(2026, 11, 20)
"""Last visits lie in the four weeks before this fixed day, so reruns never depend on the clock."""

POI_KEYS = ("shop", "amenity", "craft", "office")


@dataclass(frozen=True)
class Kind:
    """How a category of business is visited: duration, default hours, customer segment."""

    visit_minutes: int
    hours: str
    segment: str


_SHOP_HOURS = "Mo-Fr 09:30-19:00; Sa 09:30-16:00"
_OFFICE_HOURS = "Mo-Th 08:00-12:30,13:30-17:00; Fr 08:00-14:00"
_CRAFT_HOURS = "Mo-Th 07:30-16:30; Fr 07:30-13:00"
KINDS: dict[str, Kind] = {
    "bakery": Kind(20, "Mo-Fr 06:30-18:00; Sa 06:30-13:00", "food"),
    "butcher": Kind(20, "Mo-Fr 08:00-18:00; Sa 07:30-13:00", "food"),
    "greengrocer": Kind(20, "Mo-Fr 08:00-18:30; Sa 08:00-14:00", "food"),
    "supermarket": Kind(45, "Mo-Sa 07:00-21:00", "food"),
    "convenience": Kind(20, "Mo-Sa 07:00-20:00", "food"),
    "kiosk": Kind(15, "Mo-Sa 06:00-20:00; Su 08:00-13:00", "food"),
    "beverages": Kind(25, "Mo-Fr 09:00-19:00; Sa 09:00-16:00", "food"),
    "alcohol": Kind(25, "Mo-Fr 10:00-19:00; Sa 10:00-16:00", "food"),
    "pharmacy": Kind(30, "Mo-Fr 08:30-18:30; Sa 08:30-13:00", "health"),
    "chemist": Kind(30, "Mo-Sa 08:00-20:00", "health"),
    "doctors": Kind(30, "Mo,Tu,Th 08:00-12:00,14:00-18:00; We,Fr 08:00-12:00", "health"),
    "dentist": Kind(30, "Mo-Th 08:00-12:00,14:00-18:00; Fr 08:00-13:00", "health"),
    "physician": Kind(30, "Mo,Tu,Th 08:00-12:00,14:00-18:00; We,Fr 08:00-12:00", "health"),
    "hospital": Kind(60, "Mo-Fr 08:00-16:00", "health"),
    "social_facility": Kind(45, "Mo-Fr 08:00-16:00", "health"),
    "optician": Kind(30, "Mo-Fr 09:00-18:30; Sa 09:00-14:00", "health"),
    "cosmetics": Kind(25, _SHOP_HOURS, "retail"),
    "hairdresser": Kind(25, "Tu-Fr 09:00-18:30; Sa 08:00-14:00", "retail"),
    "restaurant": Kind(30, "Tu-Su 11:00-14:30,17:00-23:00", "gastro"),
    "cafe": Kind(25, "Mo-Sa 08:00-18:00; Su 10:00-18:00", "gastro"),
    "fast_food": Kind(20, "Mo-Su 11:00-22:00", "gastro"),
    "pub": Kind(25, "Mo-Sa 16:00-24:00", "gastro"),
    "biergarten": Kind(25, "Mo-Su 11:00-22:00", "gastro"),
    "books": Kind(30, _SHOP_HOURS, "retail"),
    "clothes": Kind(30, _SHOP_HOURS, "retail"),
    "boutique": Kind(30, _SHOP_HOURS, "retail"),
    "florist": Kind(20, "Mo-Fr 08:30-18:30; Sa 08:00-14:00", "retail"),
    "stationery": Kind(25, _SHOP_HOURS, "retail"),
    "hardware": Kind(30, "Mo-Fr 08:00-18:30; Sa 08:00-14:00", "retail"),
    "doityourself": Kind(45, "Mo-Sa 08:00-20:00", "retail"),
    "garden_centre": Kind(45, "Mo-Fr 08:00-19:00; Sa 08:00-18:00", "retail"),
    "tobacco": Kind(15, "Mo-Fr 06:00-19:00; Sa 07:00-14:00", "retail"),
    "souvenirs": Kind(20, "Mo-Sa 10:00-18:00", "retail"),
    "copyshop": Kind(20, "Mo-Fr 08:30-18:00", "retail"),
    "travel_agency": Kind(30, "Mo-Fr 09:00-18:00; Sa 10:00-13:00", "retail"),
    "mall": Kind(60, "Mo-Sa 09:30-20:00", "retail"),
    "trade": Kind(45, "Mo-Fr 07:00-17:00; Sa 08:00-12:00", "trade"),
    "car": Kind(60, "Mo-Fr 08:00-18:30; Sa 09:00-14:00", "automotive"),
    "car_repair": Kind(40, "Mo-Fr 07:30-18:00; Sa 08:00-12:00", "automotive"),
    "fuel": Kind(25, "Mo-Sa 06:00-22:00; Su 08:00-22:00", "automotive"),
    "car_wash": Kind(20, "Mo-Sa 07:00-20:00", "automotive"),
    "car_rental": Kind(30, "Mo-Fr 07:30-18:00; Sa 08:00-12:00", "automotive"),
    "bank": Kind(45, "Mo-Fr 09:00-12:30,14:00-18:00", "office"),
    "office": Kind(45, _OFFICE_HOURS, "office"),
    "tax_advisor": Kind(45, _OFFICE_HOURS, "office"),
    "insurance": Kind(45, _OFFICE_HOURS, "office"),
    "estate_agent": Kind(40, _OFFICE_HOURS, "office"),
    "engineer": Kind(45, _OFFICE_HOURS, "office"),
    "gardener": Kind(30, _CRAFT_HOURS, "craft"),
    "electrician": Kind(30, _CRAFT_HOURS, "craft"),
    "plumber": Kind(30, _CRAFT_HOURS, "craft"),
    "carpenter": Kind(30, _CRAFT_HOURS, "craft"),
    "painter": Kind(30, _CRAFT_HOURS, "craft"),
    "roofer": Kind(30, _CRAFT_HOURS, "craft"),
    "kindergarten": Kind(30, "Mo-Fr 07:30-16:30", "education"),
    "school": Kind(40, "Mo-Fr 07:30-15:30", "education"),
    "library": Kind(30, "Tu-Fr 10:00-18:00; Sa 10:00-13:00", "education"),
    "theatre": Kind(40, "Mo-Fr 10:00-18:00", "culture"),
}
"""Categories a field rep visits; OSM features of any other category are left out."""

OSM_CATEGORY = {
    ("office", "yes"): "office",
    ("office", "physician"): "physician",
}

# Generated businesses (at real address points): category -> relative weight.
FILL_MIX = {
    "bakery": 10,
    "pharmacy": 8,
    "doctors": 10,
    "dentist": 5,
    "hairdresser": 8,
    "restaurant": 10,
    "cafe": 6,
    "butcher": 4,
    "florist": 4,
    "optician": 3,
    "kiosk": 3,
    "beverages": 3,
    "stationery": 2,
    "hardware": 2,
    "clothes": 3,
    "electrician": 4,
    "plumber": 4,
    "carpenter": 3,
    "painter": 3,
    "roofer": 2,
    "tax_advisor": 4,
    "insurance": 4,
    "estate_agent": 2,
    "engineer": 2,
    "car_repair": 4,
}

SURNAMES = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Krause",
    "Meier",
    "Lehmann",
    "Schmid",
    "Maier",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Schuster",
    "Simon",
    "Ludwig",
    "Böhm",
    "Winter",
    "Kraus",
    "Schumacher",
    "Krämer",
    "Vogt",
    "Stein",
    "Jäger",
    "Otto",
    "Sommer",
    "Groß",
    "Seidel",
    "Heinrich",
    "Brandt",
    "Haas",
    "Schreiber",
    "Graf",
    "Dietrich",
    "Ziegler",
    "Kuhn",
    "Kühn",
    "Engel",
    "Horn",
    "Busch",
    "Bergmann",
    "Voigt",
    "Sauer",
    "Arnold",
    "Pfeiffer",
    "Gärtner",
    "Löffler",
    "Bühler",
    "Würth",
    "Häusler",
    "Dörr",
    "Schäufele",
    "Kübler",
    "Ebert",
    "Özdemir",
    "Yılmaz",
]
FIRST_NAMES = [
    "Anna",
    "Maria",
    "Sabine",
    "Petra",
    "Claudia",
    "Julia",
    "Katrin",
    "Monika",
    "Andrea",
    "Stefanie",
    "Jürgen",
    "Thomas",
    "Michael",
    "Andreas",
    "Stefan",
    "Klaus",
    "Peter",
    "Frank",
    "Markus",
    "Jörg",
    "Günter",
    "Uwe",
    "Lukas",
    "Jonas",
    "Leonie",
    "Sören",
    "Björn",
    "Jana",
    "Lena",
    "Sophie",
    "Tobias",
    "Matthias",
    "Christian",
    "Martina",
    "Ute",
    "Birgit",
    "Käthe",
    "Hans-Jürgen",
    "Elif",
    "Ömer",
]
GERMAN_LABELS = {
    "kindergarten": "Kindergarten",
    "school": "Privatschule",
    "gardener": "Gärtnerei",
    "biergarten": "Biergarten",
    "car": "Autohaus",
    "fuel": "Tankstelle",
    "car_wash": "Autowaschanlage",
    "car_rental": "Autovermietung",
    "supermarket": "Supermarkt",
    "convenience": "Dorfladen",
    "greengrocer": "Obst und Gemüse",
    "alcohol": "Weinhandlung",
    "chemist": "Drogerie",
    "cosmetics": "Kosmetikstudio",
    "books": "Buchhandlung",
    "boutique": "Boutique",
    "trade": "Baustoffhandel",
    "fast_food": "Imbiss",
    "pub": "Gaststätte",
    "bank": "Bankfiliale",
    "office": "Büro",
    "physician": "Praxis Dr.",
    "hospital": "Klinik",
    "social_facility": "Pflegeheim",
    "library": "Bücherei",
    "theatre": "Theater",
    "souvenirs": "Souvenirs",
    "copyshop": "Copyshop",
    "travel_agency": "Reisebüro",
    "mall": "Einkaufszentrum",
    "doityourself": "Baumarkt",
    "garden_centre": "Gartencenter",
    "tobacco": "Tabakwaren",
}
"""Generic German business words for generated names of categories without a name template."""

INNS = (
    "zum Löwen",
    "zum Hirsch",
    "zum Adler",
    "zum Ochsen",
    "zum Schwanen",
    "zur Rose",
    "zur Krone",
    "zum Lamm",
    "zum Engel",
)
PHARMACY_NAMES = (
    "Löwen-Apotheke",
    "Sonnen-Apotheke",
    "Neckar-Apotheke",
    "Rosen-Apotheke",
    "Hirsch-Apotheke",
    "Bären-Apotheke",
    "Schloss-Apotheke",
    "Kurpfalz-Apotheke",
    "Adler-Apotheke",
    "Stadt-Apotheke",
)
ITALIAN = ("Da Marco", "La Piazza", "Il Gabbiano", "Bella Napoli", "Toscana", "Da Vinci")
NOTES = (
    "Anlieferung über den Hof",
    "Termin vorher telefonisch bestätigen",
    "Inhaber nur vormittags da",
    "Parken hinter dem Gebäude",
    "Neue Produktlinie vorstellen",
    "Reklamation vom letzten Besuch klären",
)


@dataclass
class Poi:
    """A business or address point read from the extract."""

    osm: str
    lat: float
    lon: float
    tags: dict[str, str]


@dataclass
class Extract:
    pois: list[Poi]
    addresses: list[Poi]
    street_points: list[tuple[float, float, str]]

    def __post_init__(self) -> None:
        # a KD-tree on locally flat coordinates: a linear scan over ~50,000 street points per
        # account took most of the generator's run time
        self._scale = math.cos(math.radians(49.4))
        self._tree = cKDTree([(lon * self._scale, lat) for lat, lon, _ in self.street_points])

    def nearest_street(self, lat: float, lon: float) -> str:
        """Name of the nearest street point; ties (a junction node) go to the first name A-Z."""
        _, indices = self._tree.query((lon * self._scale, lat), k=8)
        candidates = [self.street_points[int(i)] for i in indices]
        best = min(candidates, key=lambda s: (_dist_m(lat, lon, s[0], s[1]), s[2]))
        return best[2]


def _category(tags: dict[str, str]) -> str | None:
    for key in POI_KEYS:
        value = tags.get(key)
        if value is None:
            continue
        cat = OSM_CATEGORY.get((key, value), value)
        return cat if cat in KINDS else None
    return None


def read_extract(osm_path: Path) -> Extract:
    """Business features, address points and named-street points, sorted for determinism."""
    pois: list[Poi] = []
    addresses: list[Poi] = []
    streets: list[tuple[float, float, str]] = []
    wanted = osmium.filter.KeyFilter(*POI_KEYS, "addr:street", "highway")
    for obj in osmium.FileProcessor(str(osm_path)).with_locations().with_filter(wanted):
        if not isinstance(obj, osmium.osm.Node | osmium.osm.Way):
            continue
        tags = {t.k: t.v for t in obj.tags}
        is_poi = any(k in tags for k in POI_KEYS)
        has_address = "addr:street" in tags and "addr:housenumber" in tags
        named_street = isinstance(obj, osmium.osm.Way) and "highway" in tags and "name" in tags
        if not (is_poi or has_address or named_street):
            continue
        if isinstance(obj, osmium.osm.Node):
            if not obj.location.valid():
                continue
            lat, lon = obj.location.lat, obj.location.lon
            ref = f"node/{obj.id}"
        else:
            pts = [(n.location.lat, n.location.lon) for n in obj.nodes if n.location.valid()]
            if not pts:
                continue
            if named_street:
                streets.extend((la, lo, tags["name"]) for la, lo in pts[:: max(1, len(pts) // 8)])
            # a closed way's first node repeats as its last: count it once in the centroid
            if len(pts) > 1 and pts[0] == pts[-1]:
                pts = pts[:-1]
            lat = sum(p[0] for p in pts) / len(pts)
            lon = sum(p[1] for p in pts) / len(pts)
            ref = f"way/{obj.id}"
        poi = Poi(ref, round(lat, 6), round(lon, 6), tags)
        if is_poi:
            pois.append(poi)
        elif has_address:
            addresses.append(poi)
    pois.sort(key=lambda p: p.osm)
    addresses.sort(key=lambda p: p.osm)
    streets.sort()
    return Extract(pois, addresses, streets)


def _dist_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: exact enough within a 40 km region, and fast."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000 * math.hypot(x, y)


def _nearest(points: list[Poi], lat: float, lon: float) -> Poi:
    return min(points, key=lambda p: (_dist_m(lat, lon, p.lat, p.lon), p.osm))


class Names:
    """Seeded generator of German business, person and street details."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def person(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}"

    def business(self, category: str, street: str, city: str) -> str:
        r = self.rng
        s = r.choice(SURNAMES)
        table = {
            "bakery": [f"Bäckerei {s}", f"Backhaus {s}", f"Bäckerei-Konditorei {s}"],
            "butcher": [f"Metzgerei {s}", f"Landmetzgerei {s}"],
            "pharmacy": [f"{r.choice(PHARMACY_NAMES)} {city}", f"Apotheke in der {street}"],
            "doctors": [f"Hausarztpraxis Dr. {s}", f"Praxis Dr. med. {r.choice(FIRST_NAMES)} {s}"],
            "dentist": [f"Zahnarztpraxis Dr. {s}", f"Zahnärzte {s} & {r.choice(SURNAMES)}"],
            "hairdresser": [f"Friseursalon {r.choice(FIRST_NAMES)}", f"Haarstudio {s}"],
            "restaurant": [
                f"Gasthaus {r.choice(INNS)}",
                f"Ristorante {r.choice(ITALIAN)}",
                f"Weinstube {s}",
            ],
            "cafe": [f"Café {s}", f"Café am {r.choice(('Markt', 'Neckar', 'Rathaus'))}"],
            "florist": [f"Blumen {s}", f"Blumenhaus {s}"],
            "optician": [f"Optik {s}", f"Augenoptik {s}"],
            "kiosk": [f"Kiosk {street}", f"Zeitschriften {s}"],
            "beverages": [f"Getränke {s}", f"Getränkemarkt {s}"],
            "stationery": [f"Schreibwaren {s}"],
            "hardware": [f"Eisenwaren {s}", f"Haushaltswaren {s}"],
            "clothes": [f"Modehaus {s}", f"Boutique {r.choice(FIRST_NAMES)}"],
            "electrician": [f"Elektro {s} GmbH", f"Elektrotechnik {s}"],
            "plumber": [f"Sanitär {s}", f"Heizung & Sanitär {s} GmbH"],
            "carpenter": [f"Schreinerei {s}", f"Zimmerei {s}"],
            "painter": [f"Malerbetrieb {s}", f"Maler {s} & Söhne"],
            "roofer": [f"Dachdeckerei {s}"],
            "tax_advisor": [f"Steuerkanzlei {s} & {r.choice(SURNAMES)}", f"Steuerberatung {s}"],
            "insurance": [f"Versicherungsbüro {s}", f"Generalagentur {s}"],
            "estate_agent": [f"Immobilien {s}"],
            "engineer": [f"Ingenieurbüro {s}"],
            "car_repair": [f"Kfz-Werkstatt {s}", f"Autohaus {s}"],
        }
        options = table.get(category, [f"{GERMAN_LABELS.get(category, 'Firma')} {s}"])
        return r.choice(options)


def _address(poi: Poi, extract: Extract, rng: random.Random) -> str:
    """Tagged address, else nearest named street and tagged town with a generated number."""
    t = poi.tags
    street, number = t.get("addr:street"), t.get("addr:housenumber")
    postcode, city = t.get("addr:postcode"), t.get("addr:city")
    near = _nearest(extract.addresses, poi.lat, poi.lon)
    if not street:
        street, number = extract.nearest_street(poi.lat, poi.lon), None
    if not number:
        number = str(rng.randint(1, 60))
    postcode = postcode or near.tags.get("addr:postcode", "")
    city = city or near.tags.get("addr:city", "Heidelberg")
    return f"{street} {number}, {postcode} {city}".replace(",  ", ", ")


def _town(poi: Poi, extract: Extract) -> str:
    return poi.tags.get("addr:city") or _nearest(extract.addresses, poi.lat, poi.lon).tags.get(
        "addr:city", "Heidelberg"
    )


def _distinct(pois: list[Poi]) -> list[Poi]:
    """Drop a feature whose name repeats within 150 m: one business mapped twice.

    OSM often has a shop as a node and again as a building way, or one farm shop tagged both
    ``shop=convenience`` and ``shop=mall``; a rep visits it once.
    """
    kept: list[Poi] = []
    for p in pois:
        name = p.tags.get("name")
        if name and any(
            q.tags.get("name") == name and _dist_m(p.lat, p.lon, q.lat, q.lon) < 150 for q in kept
        ):
            continue
        kept.append(p)
    return kept


def _pick_fill(extract: Extract, taken: list[Poi], count: int, rng: random.Random) -> list[Poi]:
    """Address points for generated businesses, spread over towns like the real businesses.

    Address points are tagged unevenly (little Neckarsteinach has almost as many as Heidelberg),
    so drawing them uniformly would put a quarter of all accounts into a village. Instead each
    town is drawn in proportion to its real business features (plus one), a proxy for how much
    commerce it has: the city gets most generated accounts, villages a few.
    """
    seen = {(p.tags.get("addr:street"), p.tags.get("addr:housenumber")) for p in taken}
    by_town: dict[str, list[Poi]] = defaultdict(list)
    for p in extract.addresses:
        key = (p.tags.get("addr:street"), p.tags.get("addr:housenumber"))
        if key in seen:  # several entrances of one building share an address
            continue
        if any(_dist_m(p.lat, p.lon, q.lat, q.lon) < 25 for q in taken):
            continue
        seen.add(key)
        by_town[p.tags.get("addr:city", "")].append(p)
    towns = sorted(by_town)
    real_per_town = Counter(_town(p, extract) for p in taken)
    weights = [1 + real_per_town[t] for t in towns]
    for t in towns:
        rng.shuffle(by_town[t])
    picked: list[Poi] = []
    while len(picked) < count and any(by_town.values()):
        town = rng.choices(towns, weights=weights)[0]
        if by_town[town]:
            picked.append(by_town[town].pop())
    return picked


def _frequency(value_class: str, rng: random.Random) -> str:
    roll = rng.random()
    if value_class == "A":
        return "weekly" if roll < 0.7 else "every 2 weeks"
    if value_class == "B":
        return "every 2 weeks" if roll < 0.6 else "every 4 weeks"
    return "every 4 weeks"


def _value_class(segment: str, rng: random.Random) -> str:
    a, b = {"food": (0.25, 0.5), "health": (0.3, 0.5), "automotive": (0.3, 0.5)}.get(
        segment, (0.15, 0.5)
    )
    roll = rng.random()
    return "A" if roll < a else "B" if roll < a + b else "C"


REP_SHIFT = parse_time_range("08:00-17:00")


def _visit_days(hours: WeeklyHours, visit_min: int) -> list[int]:
    """Weekdays Mo-Fr on which the visit fits an opening window inside the reps' shift."""
    return [
        d
        for d in range(5)
        if any(w.length_s >= visit_min * MINUTE for w in hours.intersect_day(d, REP_SHIFT))
    ]


def build_accounts(extract: Extract, count: int, rng: random.Random) -> list[Account]:
    names = Names(rng)
    real = _distinct([p for p in extract.pois if _category(p.tags) is not None])
    fill_mix = sorted(FILL_MIX)
    fill = _pick_fill(extract, real, max(0, count - len(real)), rng)
    chosen: list[tuple[Poi, str, bool]] = [(p, _category(p.tags) or "", True) for p in real]
    chosen += [
        (p, rng.choices(fill_mix, weights=[FILL_MIX[c] for c in fill_mix])[0], False) for p in fill
    ]
    chosen.sort(key=lambda c: (-c[0].lat, c[0].lon, c[0].osm))  # ids run north to south
    accounts: list[Account] = []
    used_names: set[str] = set()
    for i, (poi, category, is_real) in enumerate(chosen[:count], start=1):
        kind = KINDS[category]
        address = _address(poi, extract, rng)
        street = address.split(",")[0].rsplit(" ", 1)[0]
        name = poi.tags.get("name") if is_real else None
        if not name:
            # generated names stay unique (real chains such as Shell may repeat)
            for _ in range(50):
                name = names.business(category, street, _town(poi, extract))
                if name not in used_names:
                    break
        assert name is not None
        used_names.add(name)
        visit_min = max(10, kind.visit_minutes + 5 * rng.randint(-1, 1))
        hours = parse_opening_hours(kind.hours)
        tagged = poi.tags.get("opening_hours", "")
        if tagged:
            try:
                parsed = parse_opening_hours(tagged)
            except ValueError:
                parsed = None
            # keep the tag only when it leaves room for the visit on two days reps work
            if parsed is not None and len(_visit_days(parsed, visit_min)) >= 2:
                hours = parsed
        value_class = _value_class(kind.segment, rng)
        freq = _frequency(value_class, rng)
        open_days = _visit_days(hours, visit_min)
        if len(open_days) < 2:
            raise SystemExit(f"default hours of {category!r} leave no room for a visit")
        preferred: frozenset[int] = frozenset()
        forbidden: frozenset[int] = frozenset()
        roll = rng.random()
        if roll < 0.12 and len(open_days) >= 2:
            preferred = frozenset(rng.sample(open_days, 2))
        elif roll < 0.18 and len(open_days) >= 3:
            forbidden = frozenset([rng.choice(open_days)])
        last_visit = (
            REFERENCE_DAY - timedelta(days=rng.randint(1, 27)) if rng.random() < 0.7 else None
        )
        notes = [f"OSM {poi.osm}"] if is_real else []
        if rng.random() < 0.15:
            notes.append(rng.choice(NOTES))
        tags = {kind.segment}
        if value_class == "A":
            tags.add("key account")
        accounts.append(
            Account(
                account_id=f"A{i:03d}",
                name=name,
                location=GeoPoint(poi.lat, poi.lon),
                visit_rule=VisitRule.parse(freq),
                visit_duration_s=visit_min * MINUTE,
                opening_hours=hours,
                address=address,
                category=category,
                value_class=value_class,
                preferred_weekdays=preferred,
                forbidden_weekdays=forbidden,
                last_visit=last_visit,
                notes="; ".join(notes),
                contact=names.person() if rng.random() < 0.6 else "",
                phone=poi.tags.get("phone") or poi.tags.get("contact:phone", ""),
                tags=frozenset(tags),
            )
        )
    return accounts


def _kmeans(
    points: list[tuple[float, float]], k: int, rng: random.Random
) -> list[tuple[float, float]]:
    """Plain Lloyd's k-means with k-means++ seeding on (x, y) in km; deterministic given rng."""
    centres = [rng.choice(points)]
    while len(centres) < k:
        d2 = [min((px - cx) ** 2 + (py - cy) ** 2 for cx, cy in centres) for px, py in points]
        centres.append(rng.choices(points, weights=d2)[0])
    for _ in range(100):
        groups: list[list[tuple[float, float]]] = [[] for _ in range(k)]
        for px, py in points:
            best = min(
                range(k), key=lambda j: (px - centres[j][0]) ** 2 + (py - centres[j][1]) ** 2
            )
            groups[best].append((px, py))
        new = [
            (sum(p[0] for p in g) / len(g), sum(p[1] for p in g) / len(g)) if g else centres[j]
            for j, g in enumerate(groups)
        ]
        if new == centres:
            break
        centres = new
    return centres


TRANSLITERATE = {ord("ä"): "ae", ord("ö"): "oe", ord("ü"): "ue", ord("ß"): "ss", ord("ı"): "i"}
"""E-mail local parts stay ASCII: many mail systems still reject umlauts there."""

REP_NAMES = ("Jürgen Weiß", "Anna Schäfer", "Sören Kübler", "Elif Özdemir")

REP_DAYS_OFF = (
    "2026-12-24..2027-01-01",
    "2026-12-28..2027-01-08; 2027-04-06",
    "2027-02-15..2027-02-19",
    "2026-12-07; 2027-03-29..2027-04-02",
)


def build_reps(accounts: list[Account], extract: Extract, rng: random.Random) -> list[Rep]:
    """Four reps living in different parts of the region (k-means centres of the accounts)."""
    lat0 = sum(a.location.lat for a in accounts) / len(accounts)
    kx = 111.32 * math.cos(math.radians(lat0))
    pts = [(a.location.lon * kx, a.location.lat * 110.57) for a in accounts]
    centres = sorted(_kmeans(pts, 4, rng), key=lambda c: (c[0], c[1]))  # west to east
    used: set[str] = set()
    # a rep lives at an address that is not one of the accounts (no one lives in a pharmacy)
    homes = [
        p
        for p in extract.addresses
        if all(_dist_m(p.lat, p.lon, a.location.lat, a.location.lon) > 30 for a in accounts)
    ]
    reps: list[Rep] = []
    for i, (cx, cy) in enumerate(centres, start=1):
        lat, lon = cy / 110.57, cx / kx
        home = min(
            (p for p in homes if p.osm not in used),
            key=lambda p: (_dist_m(lat, lon, p.lat, p.lon), p.osm),
        )
        used.add(home.osm)
        person = REP_NAMES[i - 1]
        email = person.lower().replace(" ", ".").translate(TRANSLITERATE)
        t = home.tags
        reps.append(
            Rep(
                rep_id=f"R{i}",
                name=person,
                home=GeoPoint(home.lat, home.lon),
                working_hours=WeeklyHours.uniform(REP_SHIFT),
                home_address=(
                    f"{t['addr:street']} {t['addr:housenumber']}, "
                    f"{t.get('addr:postcode', '')} {t.get('addr:city', 'Heidelberg')}"
                ).replace(",  ", ", "),
                lunch=LunchBreak(window=parse_time_range("11:30-14:00"), duration_s=30 * MINUTE),
                days_off=parse_days_off(REP_DAYS_OFF[i - 1]),
                max_visits_per_day=10,
                max_drive_s=None,
                email=f"{email}@example.com",
                qualifications=frozenset({"medical"} if i % 2 else set()),
            )
        )
    return reps


def scaled_organisation(
    accounts: list[Account], reps: list[Rep], count: int, rep_count: int, seed: int = SEED
) -> tuple[list[Account], list[Rep]]:
    """A larger organisation for benchmarks, deterministic given ``seed``: ``count`` accounts
    copied round-robin from ``accounts`` (new ids ``S00001``..., locations moved by up to
    ~2 km so no two coincide) and ``rep_count`` reps copied from ``reps`` (``SR01``...).
    Copies keep the sample's mix of value classes, frequencies and opening hours, which is
    what the figures depend on; no road network is needed."""
    rng = random.Random(seed)
    scaled = [
        replace(
            accounts[i % len(accounts)],
            account_id=f"S{i + 1:05d}",
            location=GeoPoint(
                accounts[i % len(accounts)].location.lat + rng.uniform(-0.02, 0.02),
                accounts[i % len(accounts)].location.lon + rng.uniform(-0.03, 0.03),
            ),
            locked_rep_id=None,
        )
        for i in range(count)
    ]
    people = [
        replace(
            reps[i % len(reps)],
            rep_id=f"SR{i + 1:02d}",
            name=f"{reps[i % len(reps)].name} {i + 1}",
            email=f"rep{i + 1}@example.com",
        )
        for i in range(rep_count)
    ]
    return scaled, people


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--osm", type=Path, default=DEFAULT_OSM, help="OSM extract (PBF or XML)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder")
    parser.add_argument("--count", type=int, default=300, help="number of accounts")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    extract = read_extract(args.osm)
    accounts = build_accounts(extract, args.count, rng)
    reps = build_reps(accounts, extract, rng)
    args.out.mkdir(parents=True, exist_ok=True)
    write_accounts_csv(accounts, args.out / "accounts.csv")
    write_reps_csv(reps, args.out / "reps.csv")
    # the files must import cleanly and unchanged: fail here rather than in `make run`
    if read_accounts(args.out / "accounts.csv") != accounts:
        raise SystemExit("accounts.csv does not read back into the generated accounts")
    if read_reps(args.out / "reps.csv") != reps:
        raise SystemExit("reps.csv does not read back into the generated reps")
    real = sum(1 for a in accounts if a.notes.startswith("OSM "))
    mix = Counter(str(a.visit_rule) for a in accounts)
    print(
        f"{len(accounts)} accounts ({real} real OSM businesses, {len(accounts) - real} generated "
        f"at OSM addresses), frequencies {dict(sorted(mix.items()))}, {len(reps)} reps "
        f"-> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
