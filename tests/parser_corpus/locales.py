"""How invoices in each language and country write their words, numbers and dates (for the corpus
generator; written independently of the parser's vocabulary, from real invoices' phrasing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date
    from decimal import Decimal


@dataclass(frozen=True)
class Locale:
    name: str
    language: str
    currency: str
    symbol: str | None
    group: str  # thousands separator
    mark: str  # decimal mark
    dates: tuple[str, ...]  # date styles used in this locale
    legal_forms: tuple[str, ...]
    indian: bool = False


LOCALES = (
    Locale("en-US", "en", "USD", "$", ",", ".", ("mdy/", "written_mdy", "iso"), ("Inc.", "LLC", "Corp.")),
    Locale("en-GB", "en", "GBP", "£", ",", ".", ("dmy/", "written_dmy", "iso"), ("Ltd", "Limited", "PLC", "LLP")),
    Locale("en-IN", "en", "INR", "₹", ",", ".", ("dmy/", "dmy-"), ("Pvt Ltd", "Private Limited", "LLP"), indian=True),
    Locale("en-CA", "en", "CAD", "C$", ",", ".", ("ymd/", "iso", "written_mdy"), ("Inc.", "Ltd.", "Corp.")),
    Locale("de-DE", "de", "EUR", "€", ".", ",", ("dmy.", "written_dmy", "iso"), ("GmbH", "AG", "KG", "UG")),
    Locale("de-CH", "de", "CHF", None, "'", ".", ("dmy.",), ("AG", "GmbH", "SA")),
    Locale("fr-FR", "fr", "EUR", "€", "\u00a0", ",", ("dmy/", "written_dmy"), ("SAS", "SARL", "SA", "EURL")),
    Locale("es-ES", "es", "EUR", "€", ".", ",", ("dmy/", "written_dmy", "dmy-"), ("S.L.", "S.A.", "S.L.U.")),
    Locale("it-IT", "it", "EUR", "€", ".", ",", ("dmy/", "dmy.", "written_dmy"), ("S.r.l.", "S.p.A.", "S.n.c.")),
    Locale("nl-NL", "nl", "EUR", "€", ".", ",", ("dmy-", "written_dmy", "iso"), ("B.V.", "N.V.", "V.O.F.")),
    Locale("pt-PT", "pt", "EUR", "€", " ", ",", ("dmy/", "dmy-", "written_dmy"), ("Lda.", "S.A.", "Unipessoal Lda")),
    Locale("pt-BR", "pt", "BRL", "R$", ".", ",", ("dmy/",), ("Ltda.", "S.A.")),
    Locale("sv-EN", "en", "SEK", None, " ", ",", ("iso",), ("AB",)),
    Locale("ja-EN", "en", "JPY", "¥", ",", ".", ("ymd/", "iso"), ("K.K.", "Co., Ltd.")),
)

MONTHS = {
    "en": ("January February March April May June July August September October November December"),
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
}


def money(value: Decimal, locale: Locale, decimals: int = 2) -> str:
    negative = value < 0
    text = f"{abs(value):.{decimals}f}"
    whole, _, fraction = text.partition(".")
    if locale.indian and len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        groups.insert(0, head)
        whole = ",".join([*groups, tail])
    else:
        groups = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        whole = locale.group.join([whole, *groups])
    out = f"{whole}{locale.mark}{fraction}" if decimals else whole
    return f"-{out}" if negative else out


def quantity(value: Decimal, locale: Locale) -> str:
    text = f"{value.normalize():f}"
    return text.replace(".", locale.mark)


def written(day: date, locale: Locale, style: str) -> str:
    month = MONTHS[locale.language].split()[day.month - 1]
    language = locale.language
    if style == "written_mdy":
        return f"{month} {day.day}, {day.year}"
    if language == "en":
        return f"{day.day} {month} {day.year}"
    if language == "de":
        return f"{day.day}. {month} {day.year}"
    if language in ("es", "pt"):
        return f"{day.day} de {month} de {day.year}"
    return f"{day.day} {month} {day.year}"


def date_text(day: date, locale: Locale, style: str) -> str:
    if style.startswith("written"):
        return written(day, locale, style)
    if style == "iso":
        return day.isoformat()
    if style == "ymd/":
        return f"{day.year}/{day.month:02d}/{day.day:02d}"
    if style == "mdy/":
        return f"{day.month:02d}/{day.day:02d}/{day.year}"
    separator = style[-1]
    return f"{day.day:02d}{separator}{day.month:02d}{separator}{day.year}"


# Label phrasings per language: several per field, chosen at random per document.
LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "title": ("INVOICE", "Invoice", "Tax Invoice"),
        "credit": ("CREDIT NOTE", "Credit Note", "Credit Memo"),
        "number": ("Invoice No.", "Invoice Number", "Invoice #", "Invoice no:", "Inv. No."),
        "credit_number": ("Credit Note No.", "Credit Note Number"),
        "issue": ("Invoice Date", "Date", "Date of issue", "Issue date"),
        "due": ("Due Date", "Payment due", "Due by", "Pay by"),
        "bill_to": ("Bill To", "Billed to", "Invoice to", "Customer"),
        "from": ("From", "Supplier", "Seller"),
        "description": ("Description", "Item", "Service", "Item description"),
        "qty": ("Qty", "Quantity", "Hours", "Units"),
        "unit": ("Unit",),
        "price": ("Unit Price", "Rate", "Price", "Unit cost"),
        "rate": ("VAT %", "Tax %", "VAT"),
        "amount": ("Amount", "Total", "Line Total"),
        "subtotal": ("Subtotal", "Net amount", "Total excl. VAT", "Sub-total"),
        "tax": ("VAT", "Tax", "Sales tax", "VAT {rate}%", "Tax ({rate}%)"),
        "total": ("Total", "Total due", "Amount due", "Grand total", "Balance due"),
        "discount": ("Discount", "Discount {rate}%"),
        "fee": ("Shipping", "Delivery", "Shipping & handling"),
        "carry": ("Carried forward",),
        "page": ("Page {n} of {m}",),
        "order": ("Order No.", "PO Number"),
        "vat_id": ("VAT Reg. No.", "Tax ID"),
        "currency": ("Currency",),
    },
    "de": {
        "title": ("RECHNUNG", "Rechnung"),
        "credit": ("GUTSCHRIFT", "Gutschrift"),
        "number": ("Rechnungsnummer", "Rechnungs-Nr.", "Rechnung Nr.", "Rechnungsnr."),
        "credit_number": ("Gutschriftsnummer", "Gutschrift Nr."),
        "issue": ("Rechnungsdatum", "Datum"),
        "due": ("Fällig am", "Zahlbar bis", "Fälligkeitsdatum"),
        "bill_to": ("Rechnungsempfänger", "Kunde", "Rechnungsadresse"),
        "from": ("Lieferant", "Rechnungssteller"),
        "description": ("Bezeichnung", "Beschreibung", "Leistung", "Artikel"),
        "qty": ("Menge", "Anzahl"),
        "unit": ("Einheit",),
        "price": ("Einzelpreis", "Preis", "E-Preis"),
        "rate": ("MwSt.", "USt. %"),
        "amount": ("Betrag", "Gesamt", "Gesamtpreis"),
        "subtotal": ("Zwischensumme", "Nettobetrag", "Summe netto"),
        "tax": ("MwSt. {rate}%", "zzgl. USt. {rate}%", "Umsatzsteuer {rate}%"),
        "total": ("Gesamtbetrag", "Rechnungsbetrag", "Summe brutto", "Endbetrag"),
        "discount": ("Rabatt", "Rabatt {rate}%"),
        "fee": ("Versandkosten", "Versand", "Fracht"),
        "carry": ("Übertrag",),
        "page": ("Seite {n} von {m}",),
        "order": ("Bestellnummer", "Auftragsnummer"),
        "vat_id": ("USt-IdNr.", "Steuernummer"),
        "currency": ("Währung",),
    },
    "fr": {
        "title": ("FACTURE", "Facture"),
        "credit": ("AVOIR", "Avoir"),
        "number": ("Facture n°", "Numéro de facture", "N° de facture"),
        "credit_number": ("Avoir n°", "Numéro d'avoir"),
        "issue": ("Date de facture", "Date", "Date d'émission"),
        "due": ("Date d'échéance", "Échéance", "À payer avant le"),
        "bill_to": ("Facturé à", "Client", "Adresse de facturation"),
        "from": ("Fournisseur", "Émetteur"),
        "description": ("Désignation", "Description", "Libellé"),
        "qty": ("Qté", "Quantité"),
        "unit": ("Unité",),
        "price": ("Prix unitaire", "P.U. HT", "Prix"),
        "rate": ("TVA", "TVA %"),
        "amount": ("Montant", "Total HT", "Montant HT"),
        "subtotal": ("Total HT", "Sous-total", "Montant HT"),
        "tax": ("TVA {rate}%", "TVA ({rate} %)", "Montant TVA"),
        "total": ("Total TTC", "Net à payer", "Montant TTC", "Total à payer"),
        "discount": ("Remise", "Remise {rate}%"),
        "fee": ("Frais de port", "Livraison"),
        "carry": ("À reporter",),
        "page": ("Page {n}/{m}",),
        "order": ("N° de commande", "Bon de commande"),
        "vat_id": ("N° TVA intracommunautaire", "SIRET"),
        "currency": ("Devise",),
    },
    "es": {
        "title": ("FACTURA", "Factura"),
        "credit": ("FACTURA RECTIFICATIVA", "Nota de crédito"),
        "number": ("Nº de factura", "Número de factura", "Factura nº"),
        "credit_number": ("Nº de abono", "Número de nota de crédito"),
        "issue": ("Fecha de factura", "Fecha", "Fecha de emisión"),
        "due": ("Fecha de vencimiento", "Vencimiento"),
        "bill_to": ("Facturar a", "Cliente"),
        "from": ("Proveedor", "Emisor"),
        "description": ("Descripción", "Concepto", "Artículo"),
        "qty": ("Cantidad", "Cant."),
        "unit": ("Unidad",),
        "price": ("Precio unitario", "Precio"),
        "rate": ("IVA", "% IVA"),
        "amount": ("Importe", "Total"),
        "subtotal": ("Base imponible", "Subtotal", "Importe neto"),
        "tax": ("IVA {rate}%", "IVA ({rate}%)", "Cuota IVA"),
        "total": ("Total factura", "Total", "Total a pagar", "Importe total"),
        "discount": ("Descuento", "Descuento {rate}%"),
        "fee": ("Gastos de envío", "Portes"),
        "carry": ("Suma y sigue",),
        "page": ("Página {n} de {m}",),
        "order": ("Nº de pedido",),
        "vat_id": ("NIF", "CIF"),
        "currency": ("Moneda",),
    },
    "it": {
        "title": ("FATTURA", "Fattura"),
        "credit": ("NOTA DI CREDITO", "Nota di credito"),
        "number": ("Fattura n.", "Numero fattura", "N. fattura"),
        "credit_number": ("Nota di credito n.", "Numero nota di credito"),
        "issue": ("Data fattura", "Data", "Data documento"),
        "due": ("Scadenza", "Data di scadenza", "Da pagare entro"),
        "bill_to": ("Destinatario", "Spett.le", "Cliente"),
        "from": ("Fornitore", "Cedente"),
        "description": ("Descrizione", "Articolo"),
        "qty": ("Quantità", "Q.tà"),
        "unit": ("U.M.",),
        "price": ("Prezzo unitario", "Prezzo"),
        "rate": ("IVA", "Aliquota"),
        "amount": ("Importo", "Totale"),
        "subtotal": ("Imponibile", "Totale imponibile", "Subtotale"),
        "tax": ("IVA {rate}%", "Totale IVA", "IVA ({rate}%)"),
        "total": ("Totale fattura", "Totale documento", "Totale da pagare", "Totale"),
        "discount": ("Sconto", "Sconto {rate}%"),
        "fee": ("Spese di spedizione", "Trasporto"),
        "carry": ("Riporto",),
        "page": ("Pagina {n} di {m}",),
        "order": ("Numero ordine",),
        "vat_id": ("Partita IVA", "P.IVA"),
        "currency": ("Valuta",),
    },
    "nl": {
        "title": ("FACTUUR", "Factuur"),
        "credit": ("CREDITNOTA", "Creditnota"),
        "number": ("Factuurnummer", "Factuurnr.", "Factuur nr."),
        "credit_number": ("Creditnotanummer",),
        "issue": ("Factuurdatum", "Datum"),
        "due": ("Vervaldatum", "Te betalen voor", "Uiterste betaaldatum"),
        "bill_to": ("Factuur aan", "Klant"),
        "from": ("Leverancier", "Van"),
        "description": ("Omschrijving", "Artikel"),
        "qty": ("Aantal",),
        "unit": ("Eenheid",),
        "price": ("Prijs", "Stukprijs", "Tarief"),
        "rate": ("BTW", "BTW %"),
        "amount": ("Bedrag", "Totaal"),
        "subtotal": ("Subtotaal", "Totaal excl. BTW", "Netto bedrag"),
        "tax": ("BTW {rate}%", "BTW ({rate}%)", "Totaal BTW"),
        "total": ("Totaal", "Te betalen", "Totaal incl. BTW", "Totaalbedrag"),
        "discount": ("Korting", "Korting {rate}%"),
        "fee": ("Verzendkosten", "Bezorgkosten"),
        "carry": ("Transport",),
        "page": ("Pagina {n} van {m}",),
        "order": ("Ordernummer",),
        "vat_id": ("BTW-nummer", "KvK"),
        "currency": ("Valuta",),
    },
    "pt": {
        "title": ("FATURA", "Fatura"),
        "credit": ("NOTA DE CRÉDITO", "Nota de crédito"),
        "number": ("Fatura nº", "Número da fatura", "Nº da fatura"),
        "credit_number": ("Nota de crédito nº",),
        "issue": ("Data da fatura", "Data", "Data de emissão"),
        "due": ("Data de vencimento", "Vencimento", "Pagar até"),
        "bill_to": ("Faturar a", "Cliente"),
        "from": ("Fornecedor", "Emitente"),
        "description": ("Descrição", "Artigo", "Designação"),
        "qty": ("Quantidade", "Qtd."),
        "unit": ("Unidade",),
        "price": ("Preço unitário", "Preço"),
        "rate": ("IVA", "Taxa IVA"),
        "amount": ("Valor", "Total"),
        "subtotal": ("Subtotal", "Total sem IVA", "Total ilíquido"),
        "tax": ("IVA {rate}%", "IVA ({rate}%)", "Total IVA"),
        "total": ("Total a pagar", "Total", "Valor total"),
        "discount": ("Desconto", "Desconto {rate}%"),
        "fee": ("Portes", "Portes de envio"),
        "carry": ("A transportar",),
        "page": ("Página {n} de {m}",),
        "order": ("Nº de encomenda",),
        "vat_id": ("NIF", "Contribuinte"),
        "currency": ("Moeda",),
    },
}

WORDS = {
    "en": (
        "Consulting",
        "Support",
        "Licence",
        "Cable",
        "Monitor",
        "Desk",
        "Chair",
        "Hosting",
        "Training",
        "Design",
        "Maintenance",
        "Printer toner",
        "Laptop stand",
        "Keyboard",
        "Installation",
        "Audit",
        "Cloud storage",
    ),
    "de": (
        "Beratung",
        "Wartung",
        "Lizenz",
        "Kabel",
        "Bildschirm",
        "Schreibtisch",
        "Bürostuhl",
        "Schulung",
        "Montage",
        "Druckerpatrone",
        "Servermiete",
        "Softwarepflege",
        "Netzwerkswitch",
        "Reinigung",
    ),
    "fr": (
        "Conseil",
        "Maintenance",
        "Licence",
        "Câble",
        "Écran",
        "Bureau",
        "Chaise",
        "Formation",
        "Installation",
        "Hébergement",
        "Cartouche",
        "Nettoyage des locaux",
        "Développement",
        "Audit de sécurité",
    ),
    "es": (
        "Consultoría",
        "Mantenimiento",
        "Licencia",
        "Cable",
        "Monitor",
        "Mesa",
        "Silla",
        "Formación",
        "Instalación",
        "Alojamiento web",
        "Tóner",
        "Limpieza",
        "Diseño gráfico",
        "Auditoría",
    ),
    "it": (
        "Consulenza",
        "Manutenzione",
        "Licenza",
        "Cavo",
        "Monitor",
        "Scrivania",
        "Sedia",
        "Formazione",
        "Installazione",
        "Hosting",
        "Toner",
        "Pulizia uffici",
        "Progettazione",
        "Revisione",
    ),
    "nl": (
        "Advies",
        "Onderhoud",
        "Licentie",
        "Kabel",
        "Beeldscherm",
        "Bureau",
        "Stoel",
        "Training",
        "Installatie",
        "Hosting",
        "Toner",
        "Schoonmaak",
        "Ontwerp",
        "Controle",
    ),
    "pt": (
        "Consultoria",
        "Manutenção",
        "Licença",
        "Cabo",
        "Monitor",
        "Secretária",
        "Cadeira",
        "Formação",
        "Instalação",
        "Alojamento",
        "Toner",
        "Limpeza",
        "Design",
        "Auditoria",
    ),
}
DETAILS = ("Pro", "Basic", "XL", "2026", "Q1", "type B", "500 GB", "1,5 m", '24"', "v2", "A4", "premium", "(remote)")
NAMES = (
    "Acme",
    "Nordwind",
    "Blue Sky",
    "Contoso",
    "Fabrikam",
    "Lumen",
    "Orbis",
    "Vértice",
    "Stella",
    "Delta",
    "Kappa",
    "Horizonte",
    "Zuiderlicht",
    "Aurora",
    "Meridian",
    "Quercus",
    "Atlas",
    "Solara",
    "Ventura",
    "Brisa",
)
TRADES = {
    "en": ("Hardware", "Consulting", "Supplies", "Software", "Logistics", "Services"),
    "de": ("Bürotechnik", "Beratung", "Handel", "Software", "Logistik", "Dienstleistungen"),
    "fr": ("Informatique", "Conseil", "Fournitures", "Logiciels", "Services"),
    "es": ("Informática", "Consultores", "Suministros", "Software", "Servicios"),
    "it": ("Informatica", "Consulenze", "Forniture", "Software", "Servizi"),
    "nl": ("Techniek", "Advies", "Kantoorartikelen", "Software", "Diensten"),
    "pt": ("Informática", "Consultoria", "Materiais", "Software", "Serviços"),
}
STREETS = {
    "en": "{n} High Street",
    "de": "Hauptstraße {n}",
    "fr": "{n} rue de la Paix",
    "es": "Calle Mayor {n}",
    "it": "Via Roma {n}",
    "nl": "Dorpsstraat {n}",
    "pt": "Rua Augusta {n}",
}
CITIES = {
    "en-US": "Springfield, IL 62704",
    "en-GB": "Leeds LS1 4AP",
    "en-IN": "Bengaluru 560001",
    "en-CA": "Toronto, ON M5V 2T6",
    "de-DE": "80331 München",
    "de-CH": "8001 Zürich",
    "fr-FR": "75002 Paris",
    "es-ES": "28013 Madrid",
    "it-IT": "00184 Roma",
    "nl-NL": "1012 AB Amsterdam",
    "pt-PT": "1100-048 Lisboa",
    "pt-BR": "01310-100 São Paulo",
    "sv-EN": "111 52 Stockholm",
    "ja-EN": "Tokyo 100-0005",
}
