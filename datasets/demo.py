"""Demo data for `manage.py seed_demo`: nodes, committees with their people, institutions and
datasets spanning every DUO permission and the common modifiers. Idempotent by natural keys."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import Institution, User
from datasets import duo, services
from datasets.models import DataAccessCommittee, DataNode, Dataset, DataType
from datasets.term_cache import known_diseases

HELSINKI = "https://ror.org/040af2s02"
KAROLINSKA = "https://ror.org/056d84691"

NODES = [
    ("fi-node", "Finnish Genome Data Node", "FI", "https://fi-node.demo.example"),
    ("se-node", "Swedish Genome Data Node", "SE", "https://se-node.demo.example"),
    ("de-node", "German Genome Data Node", "DE", "https://de-node.demo.example"),
]

DACS = [
    (
        "cancer-dac",
        "European Cancer Genomes DAC",
        "Governs tumour and germline genomes of the national cancer cohorts.",
        2,
        12,
        36,
        False,
    ),
    (
        "metabolic-dac",
        "Metabolic Disease Cohorts DAC",
        "Governs diabetes, obesity and cardiometabolic cohorts.",
        2,
        12,
        24,
        False,
    ),
    (
        "rare-disease-dac",
        "Rare Disease Genomes DAC",
        "Governs genomes of people living with rare diseases and their families.",
        3,
        12,
        24,
        False,
    ),
    (
        "population-dac",
        "Population Genomes DAC",
        "Governs population reference genomes and general research biobanks.",
        1,
        24,
        60,
        True,
    ),
]


@dataclass(frozen=True)
class DemoDataset:
    dac: str
    title: str
    description: str
    nodes: tuple[str, ...]
    participants: int
    data_types: tuple[str, ...]
    data_use: dict


def _m(short: str, **params) -> dict:
    return {"term": duo.BY_SHORTHAND[short], **params}


def _ds(*diseases: str, mods: tuple = ()) -> dict:
    return {"permission": duo.DS, "diseases": list(diseases), "modifiers": list(mods)}


def _perm(short: str, mods: tuple = ()) -> dict:
    return {"permission": duo.BY_SHORTHAND[short], "modifiers": list(mods)}


W, E, G, R, M, P = (
    DataType.WGS,
    DataType.WES,
    DataType.GENOTYPING,
    DataType.RNA_SEQ,
    DataType.METHYLATION,
    DataType.PHENOTYPE,
)

DATASETS = [
    DemoDataset(
        "cancer-dac",
        "Nordic Breast Cancer Germline Genomes",
        "Germline whole genomes of women diagnosed with breast cancer, with tumour subtype and treatment history.",
        ("fi-node", "se-node"),
        4210,
        (W, P),
        _ds("MONDO:0007254", mods=(_m("IRB"), _m("NPU"), _m("PUB"))),
    ),
    DemoDataset(
        "cancer-dac",
        "Pan-Cancer Tumour–Normal Pairs",
        "Tumour and matched normal genomes across twelve cancer types from three national programmes.",
        ("de-node",),
        2875,
        (W, R, P),
        _ds("MONDO:0004992", mods=(_m("IRB"), _m("MOR", date="2027-06-30"))),
    ),
    DemoDataset(
        "cancer-dac",
        "Colorectal Cancer Screening Cohort",
        "Exomes and screening outcomes of a population colorectal cancer screening programme.",
        ("fi-node",),
        6120,
        (E, P),
        _ds("MONDO:0005575", mods=(_m("NCU"), _m("GS", countries=["FI", "SE", "DE"]))),
    ),
    DemoDataset(
        "cancer-dac",
        "Prostate Cancer Active Surveillance Genomes",
        "Whole genomes and PSA trajectories of men under active surveillance.",
        ("se-node",),
        1530,
        (W, P),
        _ds("MONDO:0008315", mods=(_m("IRB"), _m("TS", months=24))),
    ),
    DemoDataset(
        "cancer-dac",
        "Lung Cancer Never-Smokers Study",
        "Tumour exomes of lung cancer patients who never smoked, with exposure questionnaires.",
        ("de-node",),
        980,
        (E, P),
        _ds("MONDO:0008903", mods=(_m("NPU"), _m("NMDS"))),
    ),
    DemoDataset(
        "cancer-dac",
        "Childhood Leukaemia Genomes",
        "Germline and leukaemic genomes of children treated under a common protocol.",
        ("fi-node", "se-node"),
        740,
        (W, R),
        _ds("MONDO:0005059", mods=(_m("IRB"), _m("COL", investigators="Dr Aino Virtanen"), _m("PUB"))),
    ),
    DemoDataset(
        "cancer-dac",
        "Melanoma Immunotherapy Response",
        "RNA sequencing and exomes of cutaneous melanoma patients before immune checkpoint therapy.",
        ("de-node",),
        610,
        (E, R, P),
        _ds("MONDO:0005012", mods=(_m("RTN"), _m("IRB"))),
    ),
    DemoDataset(
        "cancer-dac",
        "Ovarian and Breast Cancer Families",
        "Families with hereditary breast and ovarian cancer, whole genomes of affected and unaffected relatives.",
        ("se-node",),
        1320,
        (W, P),
        _ds("MONDO:0007254", "MONDO:0008170", mods=(_m("NPUNCU"), _m("IRB"))),
    ),
    DemoDataset(
        "cancer-dac",
        "Acute Myeloid Leukaemia Methylomes",
        "DNA methylation and RNA of AML at diagnosis and relapse.",
        ("de-node",),
        415,
        (M, R),
        _ds("MONDO:0018874", mods=(_m("GSO"),)),
    ),
    DemoDataset(
        "metabolic-dac",
        "Type 2 Diabetes Case–Control Exomes",
        "Exomes of people with type 2 diabetes and matched controls, with HbA1c histories.",
        ("fi-node",),
        12840,
        (E, P),
        _ds("MONDO:0005148", mods=(_m("NPU"), _m("IRB"))),
    ),
    DemoDataset(
        "metabolic-dac",
        "Type 1 Diabetes Families",
        "Genotypes of families with childhood-onset type 1 diabetes.",
        ("se-node",),
        5230,
        (G, P),
        _ds("MONDO:0005147", mods=(_m("NCU"),)),
    ),
    DemoDataset(
        "metabolic-dac",
        "Diabetes Complications Cohort",
        "Whole genomes and renal, retinal and cardiovascular outcomes of people with diabetes.",
        ("fi-node", "de-node"),
        3390,
        (W, P),
        _ds("MONDO:0005015", mods=(_m("TS", months=12), _m("PUB"))),
    ),
    DemoDataset(
        "metabolic-dac",
        "Obesity Genetics Biobank",
        "Genotypes and body composition measurements.",
        ("de-node",),
        20410,
        (G, P),
        _ds("MONDO:0011122", mods=(_m("GS", countries=["DE"]), _m("NMDS"))),
    ),
    DemoDataset(
        "metabolic-dac",
        "Cardiometabolic Health Study",
        "Genotypes, metabolomics and ten years of follow-up in a general adult cohort.",
        ("fi-node",),
        18200,
        (G, P),
        _perm("HMB", mods=(_m("IRB"), _m("NPU"))),
    ),
    DemoDataset(
        "metabolic-dac",
        "Hypertension Pharmacogenomics",
        "Exomes and drug-response phenotypes of patients treated for hypertension.",
        ("se-node",),
        2760,
        (E, P),
        _ds("MONDO:0005044", mods=(_m("IS", institutions=[HELSINKI, KAROLINSKA]),)),
    ),
    DemoDataset(
        "metabolic-dac",
        "Liver Disease Biopsies",
        "RNA sequencing of liver biopsies from metabolic liver disease and hepatocellular carcinoma.",
        ("de-node",),
        890,
        (R, P),
        _perm("HMB", mods=(_m("MOR", date="2027-03-31"),)),
    ),
    DemoDataset(
        "metabolic-dac",
        "Gestational Diabetes Mothers and Children",
        "Genotypes of mothers with gestational diabetes and their children.",
        ("fi-node",),
        4020,
        (G, P),
        _ds("MONDO:0005015", mods=(_m("IRB"), _m("NPUNCU"))),
    ),
    DemoDataset(
        "rare-disease-dac",
        "Cystic Fibrosis Registry Genomes",
        "Whole genomes of the national cystic fibrosis registries.",
        ("se-node", "fi-node"),
        1250,
        (W, P),
        _ds("MONDO:0009061", mods=(_m("IRB"), _m("NPU"))),
    ),
    DemoDataset(
        "rare-disease-dac",
        "Duchenne Muscular Dystrophy Natural History",
        "Exomes and motor-function follow-up of boys with Duchenne muscular dystrophy.",
        ("de-node",),
        310,
        (E, P),
        _ds("MONDO:0010679", mods=(_m("COL", investigators="Prof. Jonas Weber"), _m("IRB"))),
    ),
    DemoDataset(
        "rare-disease-dac",
        "Undiagnosed Rare Disease Trios",
        "Whole genomes of children with undiagnosed rare disease and both parents.",
        ("fi-node", "se-node", "de-node"),
        2140,
        (W, P),
        _perm("HMB", mods=(_m("IRB"), _m("RTN"), _m("NCU"))),
    ),
    DemoDataset(
        "rare-disease-dac",
        "Mitochondrial Disease Genomes",
        "Nuclear and mitochondrial genomes of people with mitochondrial disease.",
        ("se-node",),
        460,
        (W,),
        _ds("MONDO:0044970", mods=(_m("GSO"), _m("PUB"))),
    ),
    DemoDataset(
        "rare-disease-dac",
        "Inherited Neurodegeneration Families",
        "Exomes of families with inherited neurodegenerative disorders.",
        ("de-node",),
        690,
        (E, P),
        _ds("MONDO:0024237", mods=(_m("TS", months=12), _m("IRB"))),
    ),
    DemoDataset(
        "rare-disease-dac",
        "Chromosomal Disorders Array Data",
        "Genotyping arrays and karyotypes of people with chromosomal disorders.",
        ("fi-node",),
        1780,
        (G, P),
        _ds("MONDO:0019040", mods=(_m("NMDS"), _m("NPU"))),
    ),
    DemoDataset(
        "rare-disease-dac",
        "Rare Disease Methods Benchmark",
        "Anonymised exomes released for the benchmarking of variant interpretation methods.",
        ("se-node",),
        500,
        (E,),
        _perm("GRU", mods=(_m("PUB"),)),
    ),
    DemoDataset(
        "population-dac",
        "Finnish Population Reference Genomes",
        "Whole genomes of healthy adults sampled across Finland's regions.",
        ("fi-node",),
        9800,
        (W,),
        _perm("GRU"),
    ),
    DemoDataset(
        "population-dac",
        "Swedish Population Frequencies",
        "Genotypes of a population-based sample for allele frequency reference.",
        ("se-node",),
        25000,
        (G,),
        _perm("NRES"),
    ),
    DemoDataset(
        "population-dac",
        "Ancestry of Northern Europe",
        "Whole genomes for the study of population history and ancestry in Northern Europe.",
        ("fi-node", "se-node"),
        3100,
        (W,),
        _perm("POA", mods=(_m("PUB"),)),
    ),
    DemoDataset(
        "population-dac",
        "German Health Biobank Genotypes",
        "Genotypes and health questionnaires of a national biobank.",
        ("de-node",),
        52000,
        (G, P),
        _perm("GRU", mods=(_m("NCU"), _m("GS", countries=["DE", "AT", "CH"]))),
    ),
    DemoDataset(
        "population-dac",
        "Longevity and Healthy Ageing Cohort",
        "Genotypes and ageing phenotypes of people aged 90 and over.",
        ("se-node",),
        1900,
        (G, P),
        _perm("HMB", mods=(_m("NPOA"),)),
    ),
    DemoDataset(
        "population-dac",
        "Historical Migration Genomes",
        "Genomes from a study of historical migration routes across the Baltic.",
        ("fi-node",),
        760,
        (W,),
        _perm("POA", mods=(_m("NCU"), _m("TS", months=36))),
    ),
    DemoDataset(
        "population-dac",
        "Population Methylation Atlas",
        "Blood DNA methylation across ages and regions.",
        ("de-node",),
        4300,
        (M,),
        _perm("GRU", mods=(_m("NMDS"), _m("IRB"))),
    ),
    DemoDataset(
        "population-dac",
        "COVID-19 Host Genetics",
        "Genotypes of people with severe and mild COVID-19.",
        ("se-node", "de-node"),
        7600,
        (G, P),
        _ds("MONDO:0100096", mods=(_m("PUB"), _m("RTN"))),
    ),
]

AGREEMENT = (
    "I will use the data only for the research purpose approved by the committee, keep it secure, "
    "not try to identify participants, acknowledge the cohorts in publications, and destroy the data "
    "when my permit ends."
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: str


def _user(email: str, name: str, password: str, **extra) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=password, name=name, email_verified_at=timezone.now(), **extra
        )
    return user


def _institutions() -> dict[str, Institution]:
    rows = [
        ("University of Helsinki", "FI", HELSINKI, Institution.OrganisationType.NON_PROFIT),
        ("Karolinska Institutet", "SE", KAROLINSKA, Institution.OrganisationType.NON_PROFIT),
        ("Heidelberg University", "DE", "https://ror.org/038t36y30", Institution.OrganisationType.NON_PROFIT),
        ("Nordic Genomics Analytics Oy", "FI", None, Institution.OrganisationType.FOR_PROFIT),
    ]
    result = {}
    for name, country, ror, kind in rows:
        inst, _ = Institution.objects.get_or_create(
            name=name, country=country, defaults={"ror_id": ror, "organisation_type": kind}
        )
        result[name] = inst
    return result


PEOPLE = {
    "cancer-dac": ("Elina Korhonen", "Matti Laine", "Sanna Heikkinen"),
    "metabolic-dac": ("Lars Andersson", "Karin Nilsson", "Erik Johansson"),
    "rare-disease-dac": ("Anna Schmidt", "Lukas Fischer", "Miriam Becker"),
    "population-dac": ("Johanna Lindqvist", "Pekka Mäkinen", "Sofia Berg"),
}


@transaction.atomic
def seed(*, password: str) -> list[DemoAccount]:
    """Create the demo world (or find it already there) and return its accounts."""
    institutions = _institutions()
    nodes = {}
    for slug, name, country, url in NODES:
        nodes[slug], _ = DataNode.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "country": country, "base_url": url, "contact_email": f"ops@{slug}.demo.example"},
        )
    accounts = [
        DemoAccount("researcher@demo.example", "Aino Researcher", "researcher (University of Helsinki)"),
        DemoAccount("researcher2@demo.example", "Ben Analyst", "researcher (for-profit company)"),
    ]
    _user(
        "researcher@demo.example",
        "Aino Researcher",
        password,
        institution=institutions["University of Helsinki"],
        country="FI",
        orcid="0000-0002-1825-0097",
    )
    _user(
        "researcher2@demo.example",
        "Ben Analyst",
        password,
        institution=institutions["Nordic Genomics Analytics Oy"],
        country="FI",
    )
    _user("admin@demo.example", "Portal Operator", password, is_staff=True, is_superuser=True)
    accounts.append(DemoAccount("admin@demo.example", "Portal Operator", "staff (Django admin)"))
    dacs = {}
    for slug, name, description, quorum, default_months, max_months, auto in DACS:
        dacs[slug], _ = DataAccessCommittee.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "contact_email": f"{slug}@demo.example",
                "quorum": quorum,
                "default_permit_months": default_months,
                "max_permit_months": max_months,
                "auto_approve": auto,
            },
        )
        for role, person in zip(("chair", "member", "secretary"), PEOPLE[slug], strict=True):
            email = f"{slug}-{role}@demo.example"
            user = _user(email, person, password)
            services.dac_membership_set(dac=dacs[slug], user=user, role=role)
            accounts.append(DemoAccount(email, person, f"{role}, {name}"))
    for spec in DATASETS:
        if Dataset.objects.filter(dac=dacs[spec.dac], title=spec.title).exists():
            continue
        data_use = duo.parse_data_use(spec.data_use, known_diseases=known_diseases)
        services.dataset_create(
            dac=dacs[spec.dac],
            title=spec.title,
            description=spec.description,
            data_use=data_use,
            nodes=[nodes[n] for n in spec.nodes],
            participants=spec.participants,
            data_types=list(spec.data_types),
            status=Dataset.Status.PUBLISHED,
            agreement_text=AGREEMENT,
        )
    return accounts
