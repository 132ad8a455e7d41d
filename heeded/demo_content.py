"""What the demo data is made of: the MSP's staff, twelve clients, ad-hoc advice and the
reasons clients give. Pure data; ``heeded.demo`` turns it into records through the
services. Every domain ends in ``.example`` (RFC 2606), so no demo e-mail can reach a
real mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.choices import Role
from clients.choices import Language, QbrCadence

MSP_NAME = "Bluepeak IT"
MSP_DOMAIN = "bluepeak-it.example"


@dataclass(frozen=True)
class StaffSpec:
    username: str
    first_name: str
    last_name: str
    role: str

    @property
    def email(self) -> str:
        return f"{self.username}@{MSP_DOMAIN}"


STAFF = (
    StaffSpec("elena.ricci", "Elena", "Ricci", Role.ADMIN),
    StaffSpec("luca.bernardi", "Luca", "Bernardi", Role.ACCOUNT_MANAGER),
    StaffSpec("priya.shah", "Priya", "Shah", Role.TECHNICIAN),
)
ADMIN, MANAGER, TECHNICIAN = (s.username for s in STAFF)


@dataclass(frozen=True)
class ContactSpec:
    name: str
    mailbox: str
    job_title: str
    decision_maker: bool = False
    escalation: bool = False
    phone: str = ""


@dataclass(frozen=True)
class AdHocSpec:
    """A recommendation written for one client, outside the catalog, in the client's
    language (the service takes the client's language for an ad-hoc text)."""

    title: str
    body: str
    risk_if_ignored: str
    category: str
    severity: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class ClientSpec:
    name: str
    slug: str
    domains: tuple[str, ...]
    industry: str
    regulated: bool
    time_zone: str
    language: str
    qbr_cadence_months: int
    owner: str
    technician_assigned: bool
    devices: int
    servers: int
    staff_count: int
    recommendations: int
    contacts: tuple[ContactSpec, ...]
    ad_hoc: tuple[AdHocSpec, ...] = ()


IT, EN = Language.IT, Language.EN
Q, H, Y = QbrCadence.QUARTERLY, QbrCadence.HALF_YEARLY, QbrCadence.YEARLY

CLIENTS = (
    ClientSpec(
        name="Studio Dentistico Bianchi & Colombo",
        slug="studio-bianchi-colombo",
        domains=("studiobianchicolombo.example",),
        industry="Dental practice",
        regulated=True,
        time_zone="Europe/Rome",
        language=IT,
        qbr_cadence_months=Q,
        owner=MANAGER,
        technician_assigned=True,
        devices=14,
        servers=1,
        staff_count=12,
        recommendations=30,
        contacts=(
            ContactSpec("Chiara Bianchi", "c.bianchi", "Titolare", True, True, "+39 02 5550 1410"),
            ContactSpec("Paolo Colombo", "p.colombo", "Socio, odontoiatra", True),
            ContactSpec("Federica Gatti", "segreteria", "Responsabile di segreteria"),
        ),
        ad_hoc=(
            AdHocSpec(
                title="Isolare il PC di acquisizione dell'ortopantomografo",
                body=(
                    "Il PC che gestisce l'ortopantomografo usa ancora Windows 7, perché il "
                    "software di imaging è certificato solo su quel sistema. Spostarlo su una "
                    "VLAN dedicata che raggiunga soltanto la cartella delle immagini sul server, "
                    "togliergli l'accesso a Internet e disattivare le memorie USB finché il "
                    "produttore non certifica Windows 11."
                ),
                risk_if_ignored=(
                    "Un PC con Windows 7 senza aggiornamenti nella rete dello studio è un facile "
                    "punto d'ingresso verso il server che contiene le cartelle cliniche e le "
                    "immagini di tutti i pazienti."
                ),
                category="network",
                severity="high",
                tags=("eol", "segmentation", "medical-device"),
            ),
        ),
    ),
    ClientSpec(
        name="Harrow & Finch Solicitors LLP",
        slug="harrow-finch",
        domains=("harrowfinch.example",),
        industry="Law firm",
        regulated=False,
        time_zone="Europe/London",
        language=EN,
        qbr_cadence_months=Q,
        owner=MANAGER,
        technician_assigned=True,
        devices=28,
        servers=2,
        staff_count=24,
        recommendations=38,
        contacts=(
            ContactSpec(
                "Eleanor Harrow",
                "eleanor.harrow",
                "Managing Partner",
                True,
                True,
                "+44 20 7946 0321",
            ),
            ContactSpec("David Okafor", "david.okafor", "Practice Manager", True),
            ContactSpec("Sophie Turner", "sophie.turner", "Office Administrator"),
        ),
        ad_hoc=(
            AdHocSpec(
                title="Retire the shared reception Windows login",
                body=(
                    "Reception staff share one Windows account, 'reception', which is also "
                    "signed in to the case-management system. Give each receptionist a named "
                    "account, switch users with fast user switching, and disable the shared "
                    "account once nobody has used it for two weeks."
                ),
                risk_if_ignored=(
                    "With a shared login nobody can tell who opened or changed a client file, "
                    "which matters in a complaint or a regulator's inquiry."
                ),
                category="identity",
                severity="medium",
                tags=("shared-accounts", "accountability"),
            ),
        ),
    ),
    ClientSpec(
        name="Officine Meccaniche Ferraro S.p.A.",
        slug="officine-ferraro",
        domains=("ferraro-meccanica.example", "ferraro-group.example"),
        industry="Manufacturing (precision machining)",
        regulated=False,
        time_zone="Europe/Rome",
        language=IT,
        qbr_cadence_months=Q,
        owner=ADMIN,
        technician_assigned=True,
        devices=46,
        servers=4,
        staff_count=58,
        recommendations=44,
        contacts=(
            ContactSpec(
                "Roberto Ferraro",
                "roberto.ferraro",
                "Amministratore delegato",
                True,
                True,
                "+39 030 555 2210",
            ),
            ContactSpec("Silvia Marchetti", "silvia.marchetti", "Direttrice amministrativa", True),
            ContactSpec("Andrea Villa", "andrea.villa", "Responsabile di produzione"),
            ContactSpec("Giorgio Sala", "giorgio.sala", "Referente IT interno"),
        ),
        ad_hoc=(
            AdHocSpec(
                title="Separare la rete delle macchine CNC dalla rete degli uffici",
                body=(
                    "Le macchine CNC e i loro controller con Windows XP sono sulla stessa rete "
                    "piatta dei PC degli uffici. Spostarle su una VLAN di produzione, consentire "
                    "solo al server CAM di inviare loro i programmi e dare al fornitore delle "
                    "macchine l'accesso remoto tramite la VPN, al posto del modem in officina."
                ),
                risk_if_ignored=(
                    "Un ransomware che arriva su un PC degli uffici può cifrare o bloccare i "
                    "controller delle macchine e fermare la produzione per giorni."
                ),
                category="network",
                severity="high",
                tags=("ot", "segmentation", "eol"),
            ),
            AdHocSpec(
                title="Spostare il database del gestionale dal server Windows Server 2012 R2",
                body=(
                    "Il database del gestionale gira ancora sul server 2012 R2 in sala macchine. "
                    "Migrarlo sulla nuova macchina virtuale Windows Server 2022 durante la "
                    "chiusura di agosto, dopo la verifica di compatibilità del fornitore del "
                    "gestionale."
                ),
                risk_if_ignored=(
                    "Senza il gestionale si ferma tutta l'azienda, e il server che lo ospita non "
                    "riceve più aggiornamenti di sicurezza."
                ),
                category="patching",
                severity="high",
                tags=("eol", "erp", "server"),
            ),
        ),
    ),
    ClientSpec(
        name="Studio Greco Commercialisti Associati",
        slug="studio-greco",
        domains=("studiogreco-commercialisti.example",),
        industry="Accounting office",
        regulated=True,
        time_zone="Europe/Rome",
        language=IT,
        qbr_cadence_months=Q,
        owner=MANAGER,
        technician_assigned=False,
        devices=18,
        servers=1,
        staff_count=15,
        recommendations=34,
        contacts=(
            ContactSpec("Antonio Greco", "antonio.greco", "Socio fondatore", True, True),
            ContactSpec("Laura De Luca", "laura.deluca", "Socia", True),
            ContactSpec("Martina Fontana", "segreteria", "Segreteria"),
        ),
        ad_hoc=(
            AdHocSpec(
                title="Sostituire il NAS non più supportato che contiene gli archivi dei clienti",
                body=(
                    "Il Synology DS214 che conserva dieci anni di archivi dei clienti non riceve "
                    "più aggiornamenti DSM. Spostare gli archivi su un NAS supportato, con "
                    "snapshot e una copia fuori sede, poi cancellare e smaltire il vecchio "
                    "apparato."
                ),
                risk_if_ignored=(
                    "I NAS non supportati sono tra i bersagli preferiti del ransomware, e gli "
                    "archivi contengono dichiarazioni dei redditi e documenti d'identità dei "
                    "clienti."
                ),
                category="backup",
                severity="high",
                tags=("eol", "nas", "archives"),
            ),
        ),
    ),
    ClientSpec(
        name="Farmacia San Marco",
        slug="farmacia-san-marco",
        domains=("farmaciasanmarco.example",),
        industry="Pharmacy",
        regulated=True,
        time_zone="Europe/Rome",
        language=IT,
        qbr_cadence_months=H,
        owner=MANAGER,
        technician_assigned=True,
        devices=9,
        servers=1,
        staff_count=8,
        recommendations=26,
        contacts=(
            ContactSpec(
                "Francesco Rinaldi",
                "titolare",
                "Titolare, farmacista",
                True,
                True,
                "+39 041 555 0187",
            ),
            ContactSpec("Elisa Costa", "elisa.costa", "Farmacista collaboratrice"),
        ),
    ),
    ClientSpec(
        name="Brightway Logistics Ltd",
        slug="brightway-logistics",
        domains=("brightwaylogistics.example",),
        industry="Logistics and warehousing",
        regulated=False,
        time_zone="Europe/London",
        language=EN,
        qbr_cadence_months=Q,
        owner=MANAGER,
        technician_assigned=True,
        devices=38,
        servers=3,
        staff_count=85,
        recommendations=40,
        contacts=(
            ContactSpec("Martin Cole", "martin.cole", "Managing Director", True, True),
            ContactSpec("Hannah Price", "hannah.price", "Finance Director", True),
            ContactSpec("Tom Reilly", "tom.reilly", "Warehouse Operations Manager"),
        ),
        ad_hoc=(
            AdHocSpec(
                title="Remove former planners' access to the transport management system",
                body=(
                    "Three transport planners who left last year still have active logins to "
                    "the hosted TMS, which is not connected to Microsoft 365 sign-in. Disable "
                    "them now, and ask the TMS provider to enable single sign-on so that "
                    "leavers lose access together with their Microsoft account."
                ),
                risk_if_ignored=(
                    "Former staff can still see customer shipments and rates and change "
                    "bookings, and nobody would notice."
                ),
                category="identity",
                severity="medium",
                tags=("offboarding", "saas"),
            ),
        ),
    ),
    ClientSpec(
        name="Atelier Lombardi Architetti",
        slug="atelier-lombardi",
        domains=("lombardi-architetti.example",),
        industry="Architecture studio",
        regulated=False,
        time_zone="Europe/Rome",
        language=IT,
        qbr_cadence_months=H,
        owner=ADMIN,
        technician_assigned=False,
        devices=11,
        servers=0,
        staff_count=9,
        recommendations=26,
        contacts=(
            ContactSpec("Valeria Lombardi", "valeria", "Architetta, titolare", True, True),
            ContactSpec("Matteo Galli", "matteo.galli", "Architetto associato"),
        ),
        ad_hoc=(
            AdHocSpec(
                title="Spostare gli archivi dei progetti dalle chiavette USB a SharePoint",
                body=(
                    "I progetti conclusi sono archiviati in un cassetto di chiavette USB non "
                    "cifrate. Spostarli in un sito di archivio SharePoint con controllo delle "
                    "versioni e criteri di conservazione, coperto dal backup di Microsoft 365, e "
                    "poi cancellare le chiavette."
                ),
                risk_if_ignored=(
                    "Le chiavette USB si guastano, si perdono o escono dall'ufficio in una borsa; "
                    "i disegni e i dati dei clienti che contengono non sono protetti né salvati."
                ),
                category="data",
                severity="medium",
                tags=("usb", "archives", "m365"),
            ),
        ),
    ),
    ClientSpec(
        name="Oakridge Montessori School",
        slug="oakridge-montessori",
        domains=("oakridgemontessori.example",),
        industry="Independent primary school",
        regulated=False,
        time_zone="Europe/London",
        language=EN,
        qbr_cadence_months=H,
        owner=MANAGER,
        technician_assigned=False,
        devices=35,
        servers=1,
        staff_count=30,
        recommendations=34,
        contacts=(
            ContactSpec("Rachel Moore", "head", "Head Teacher", True),
            ContactSpec("Simon Hughes", "simon.hughes", "School Business Manager", True, True),
            ContactSpec("Amy Clarke", "office", "School Office Manager"),
        ),
        ad_hoc=(
            AdHocSpec(
                title="Apply web filtering and monitoring that meet safeguarding guidance",
                body=(
                    "Configure the school's web filter so that pupil devices are filtered by "
                    "age group and staff receive alerts on safeguarding-related searches, as "
                    "the statutory safeguarding guidance for schools expects. Review the "
                    "filtering report with the designated safeguarding lead every half term."
                ),
                risk_if_ignored=(
                    "Pupils can reach harmful content and the school cannot show inspectors "
                    "that filtering and monitoring are in place."
                ),
                category="network",
                severity="high",
                tags=("safeguarding", "filtering", "education"),
            ),
        ),
    ),
    ClientSpec(
        name="Hotel Bellavista Garda",
        slug="hotel-bellavista",
        domains=("hotelbellavistagarda.example",),
        industry="Hotel and hospitality",
        regulated=False,
        time_zone="Europe/Rome",
        language=IT,
        qbr_cadence_months=Q,
        owner=MANAGER,
        technician_assigned=True,
        devices=22,
        servers=1,
        staff_count=40,
        recommendations=34,
        contacts=(
            ContactSpec(
                "Giovanni Moretti", "direzione", "Direttore", True, True, "+39 045 555 7720"
            ),
            ContactSpec("Luisa Moretti", "amministrazione", "Amministrazione", True),
            ContactSpec("Sara Pellegrini", "frontoffice", "Front office manager"),
        ),
        ad_hoc=(
            AdHocSpec(
                title="Separare il gestionale alberghiero e i POS dal Wi-Fi degli ospiti",
                body=(
                    "I PC del gestionale alberghiero (PMS) e i terminali di pagamento con carta "
                    "condividono la rete con gli access point del Wi-Fi ospiti. Mettere PMS e "
                    "dispositivi di pagamento su una VLAN dedicata, senza alcun instradamento "
                    "dalla rete ospiti, come richiede il PCI DSS, e documentare la modifica per "
                    "il questionario della banca acquirer."
                ),
                risk_if_ignored=(
                    "Un dispositivo di un ospite sulla stessa rete può attaccare i PC della "
                    "reception, che conservano i documenti d'identità degli ospiti, e raggiungere "
                    "i terminali di pagamento."
                ),
                category="network",
                severity="high",
                tags=("pci-dss", "segmentation", "wifi"),
            ),
        ),
    ),
    ClientSpec(
        name="Northlight Creative Ltd",
        slug="northlight-creative",
        domains=("northlightcreative.example",),
        industry="Marketing agency",
        regulated=False,
        time_zone="Europe/Dublin",
        language=EN,
        qbr_cadence_months=Q,
        owner=ADMIN,
        technician_assigned=True,
        devices=16,
        servers=0,
        staff_count=14,
        recommendations=30,
        contacts=(
            ContactSpec("Aoife Byrne", "aoife", "Founder and CEO", True, True),
            ContactSpec("Conor Walsh", "conor.walsh", "Operations Lead", True),
        ),
        ad_hoc=(
            AdHocSpec(
                title="Move clients' social media logins into the password manager",
                body=(
                    "The agency manages social media accounts for about thirty clients with "
                    "logins kept in a shared spreadsheet. Move each login into a shared vault "
                    "per client, turn on MFA for each account with the agency's shared "
                    "authenticator, and delete the spreadsheet."
                ),
                risk_if_ignored=(
                    "A single leaked spreadsheet would let someone take over clients' brand "
                    "accounts, with direct damage to the agency's reputation."
                ),
                category="identity",
                severity="medium",
                tags=("passwords", "social-media"),
            ),
        ),
    ),
    ClientSpec(
        name="Clinica Veterinaria Sant'Ambrogio",
        slug="clinica-sant-ambrogio",
        domains=("vetsantambrogio.example",),
        industry="Veterinary clinic",
        regulated=False,
        time_zone="Europe/Rome",
        language=IT,
        qbr_cadence_months=H,
        owner=MANAGER,
        technician_assigned=False,
        devices=12,
        servers=1,
        staff_count=11,
        recommendations=26,
        contacts=(
            ContactSpec("Marco Testa", "marco.testa", "Direttore sanitario", True, True),
            ContactSpec("Giulia Ferri", "reception", "Reception e amministrazione"),
        ),
        ad_hoc=(
            AdHocSpec(
                title="Dare a ogni veterinario un'utenza nominativa nel gestionale della clinica",
                body=(
                    "Tutti accedono al gestionale della clinica con la stessa utenza 'admin'. "
                    "Creare un'utenza nominativa per ogni veterinario e infermiere con il ruolo "
                    "corretto, cambiare la password di admin e custodirla nel password manager."
                ),
                risk_if_ignored=(
                    "Prescrizioni e note cliniche non sono attribuibili a una persona, e una sola "
                    "password trapelata apre le schede di tutti i clienti."
                ),
                category="identity",
                severity="high",
                tags=("shared-accounts", "accountability"),
            ),
        ),
    ),
    ClientSpec(
        name="Harbour Lights Trust",
        slug="harbour-lights-trust",
        domains=("harbourlights.example", "harbourlights-appeal.example"),
        industry="Non-profit (homelessness charity)",
        regulated=False,
        time_zone="Europe/London",
        language=EN,
        qbr_cadence_months=Y,
        owner=MANAGER,
        technician_assigned=False,
        devices=20,
        servers=0,
        staff_count=26,
        recommendations=32,
        contacts=(
            ContactSpec("Naomi Fletcher", "naomi.fletcher", "Chief Executive", True, True),
            ContactSpec("Grace Adeyemi", "grace.adeyemi", "Operations and Finance Officer", True),
            ContactSpec("Peter Lang", "chair", "Chair of Trustees", escalation=True),
        ),
        ad_hoc=(
            AdHocSpec(
                title="Stop exporting the donor and client database to spreadsheets",
                body=(
                    "Staff export the donor and client case database to Excel to prepare "
                    "mailings and reports, and the files end up in personal OneDrive folders "
                    "and e-mail. Build the reports inside the CRM, restrict the export "
                    "permission to two people, and apply a retention label to existing exports."
                ),
                risk_if_ignored=(
                    "Copies of data about vulnerable people spread beyond any control, and a "
                    "breach would have to be reported to the regulator and to the people affected."
                ),
                category="data",
                severity="medium",
                tags=("gdpr", "crm", "data-minimisation"),
            ),
        ),
    ),
)
