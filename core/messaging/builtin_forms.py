"""The three eForms every site starts with, as plain data (loaded into ``EForm`` rows, built_in=True).

Each entry of ``BUILTIN_FORMS`` is ``(code, title_en, title_fr, definition)``; the definition is
the JSON shape ``core.messaging.eforms.FormDefinition.from_data`` accepts, and a unit test loads
each one through it. The wording is Accueil's own, in both languages.
"""

from __future__ import annotations

from typing import Any


def _label(en: str, fr: str) -> dict[str, str]:
    return {"en": en, "fr": fr}


def _choice(value: str, en: str, fr: str) -> dict[str, Any]:
    return {"value": value, "label": _label(en, fr)}


def _field(name: str, kind: str, en: str, fr: str, *, required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "required": required, "label": _label(en, fr), **extra}


EMAIL_CONSENT: dict[str, Any] = {"fields": [
    _field("full_name", "text", "Your full name", "Votre nom complet", required=True, max_length=200),
    _field(
        "consents_to_email", "yes_no",
        "I agree that the clinic may send me messages about my care by email. I understand that email "
        "is not a fully private channel and that I can withdraw this consent at any time by telling the clinic.",
        "J'accepte que la clinique m'envoie des messages au sujet de mes soins par courriel. Je comprends que "
        "le courriel n'est pas un moyen entièrement confidentiel et que je peux retirer ce consentement en tout "
        "temps en avisant la clinique.",
        required=True,
    ),
    _field("consent_date", "date", "Date of this consent", "Date de ce consentement", required=True),
]}

HEALTH_QUESTIONNAIRE: dict[str, Any] = {"fields": [
    _field("overall_health", "single_choice", "How would you rate your health overall?",
           "Comment évaluez-vous votre santé en général ?", required=True, choices=[
               _choice("excellent", "Excellent", "Excellente"),
               _choice("good", "Good", "Bonne"),
               _choice("fair", "Fair", "Passable"),
               _choice("poor", "Poor", "Mauvaise"),
           ]),
    _field("conditions", "multiple_choice", "Which of these conditions have you been told you have?",
           "Parmi ces problèmes de santé, lesquels vous ont été diagnostiqués ?", choices=[
               _choice("diabetes", "Diabetes", "Diabète"),
               _choice("hypertension", "High blood pressure", "Hypertension artérielle"),
               _choice("asthma", "Asthma or COPD", "Asthme ou MPOC"),
               _choice("heart", "Heart disease", "Maladie du cœur"),
               _choice("depression", "Depression or anxiety", "Dépression ou anxiété"),
               _choice("none", "None of these", "Aucun de ceux-ci"),
           ]),
    _field("smokes", "yes_no", "Do you currently smoke or vape?", "Fumez-vous ou vapotez-vous actuellement ?",
           required=True),
    _field("drinks_per_week", "number", "About how many alcoholic drinks do you have in a typical week?",
           "Environ combien de consommations d'alcool prenez-vous au cours d'une semaine habituelle ?",
           min=0, max=200),
    _field("height_cm", "number", "Height (cm)", "Taille (cm)", min=40, max=250),
    _field("weight_kg", "number", "Weight (kg)", "Poids (kg)", min=2, max=400),
    _field("last_checkup", "date", "Date of your last check-up, if you know it",
           "Date de votre dernier examen médical, si vous la connaissez"),
    _field("medications", "long_text", "Medications you take now (name and dose)",
           "Médicaments que vous prenez actuellement (nom et dose)", max_length=3000),
    _field("concerns", "long_text", "Anything you would like to discuss at your visit",
           "Ce dont vous aimeriez discuter lors de votre visite", max_length=3000),
]}

NEW_PATIENT_INTAKE: dict[str, Any] = {"fields": [
    _field("first_name", "text", "First name", "Prénom", required=True, max_length=120),
    _field("last_name", "text", "Last name", "Nom de famille", required=True, max_length=120),
    _field("preferred_name", "text", "Name you prefer to be called", "Nom que vous préférez qu'on utilise",
           max_length=120),
    _field("date_of_birth", "date", "Date of birth", "Date de naissance", required=True),
    _field("phone", "text", "Phone number", "Numéro de téléphone", required=True, max_length=40),
    _field("preferred_language", "single_choice", "Preferred language for care",
           "Langue préférée pour les soins", required=True, choices=[
               _choice("fr", "French", "Français"),
               _choice("en", "English", "Anglais"),
           ]),
    _field("health_number", "text", "Provincial health card number", "Numéro de carte d'assurance maladie",
           max_length=40),
    _field("allergies", "long_text", "Allergies (medications, foods, other) and the reaction they cause",
           "Allergies (médicaments, aliments, autres) et la réaction qu'elles provoquent", max_length=2000),
    _field("pharmacy", "text", "Your pharmacy (name and address or phone)",
           "Votre pharmacie (nom et adresse ou téléphone)", max_length=200),
    _field("emergency_contact", "text", "Emergency contact (name and phone)",
           "Personne à joindre en cas d'urgence (nom et téléphone)", max_length=200),
    _field("family_history", "multiple_choice", "Close relatives have had",
           "Des membres de votre famille proche ont eu", choices=[
               _choice("cancer", "Cancer", "Cancer"),
               _choice("heart", "Heart disease or stroke", "Maladie du cœur ou AVC"),
               _choice("diabetes", "Diabetes", "Diabète"),
               _choice("none", "None that I know of", "Aucun à ma connaissance"),
           ]),
    _field("has_family_doctor_elsewhere", "yes_no", "Do you currently have a family doctor at another clinic?",
           "Avez-vous actuellement un médecin de famille dans une autre clinique ?"),
]}

BUILTIN_FORMS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("email_consent", "Consent to email communication", "Consentement aux communications par courriel",
     EMAIL_CONSENT),
    ("health_questionnaire", "Health questionnaire", "Questionnaire de santé", HEALTH_QUESTIONNAIRE),
    ("new_patient_intake", "New patient intake", "Inscription d'un nouveau patient", NEW_PATIENT_INTAKE),
]
