"""Labels of our vocabularies in the catalogues (need names, accessibility, costs, statuses).

``N_`` only marks a message for extraction; pages translate it when they show it. The messages
of the domain's own errors that a form shows are here too, so they reach the catalogues."""

from __future__ import annotations


def N_(message: str) -> str:
    return message


NEEDS = {
    "crisis": N_("Crisis"),
    "suicide-prevention": N_("Suicide prevention"),
    "mobile-crisis": N_("Mobile crisis team"),
    "crisis-stabilization": N_("Crisis stabilization"),
    "mental-health": N_("Mental health"),
    "counseling": N_("Counseling and therapy"),
    "psychiatry": N_("Psychiatry and medication"),
    "depression": N_("Depression"),
    "anxiety": N_("Anxiety"),
    "trauma": N_("Trauma and PTSD"),
    "eating-disorders": N_("Eating disorders"),
    "serious-mental-illness": N_("Serious mental illness"),
    "grief": N_("Grief and loss"),
    "substance-use": N_("Substance use"),
    "detox": N_("Detox / withdrawal management"),
    "outpatient-treatment": N_("Outpatient treatment"),
    "residential-treatment": N_("Residential treatment"),
    "inpatient-treatment": N_("Hospital inpatient treatment"),
    "recovery-housing": N_("Recovery housing / sober living"),
    "recovery-support": N_("Recovery support"),
    "medication-assisted-treatment": N_("Medication for addiction treatment"),
    "harm-reduction": N_("Harm reduction"),
    "peer-support": N_("Peer support"),
    "support-groups": N_("Support groups"),
    "youth": N_("Youth and young adults"),
    "pregnant-postpartum": N_("Pregnant and postpartum people"),
    "tobacco-cessation": N_("Quitting tobacco and vaping"),
    "gambling": N_("Gambling and other behavioral addictions"),
    "family": N_("Family support"),
    "lgbtq": N_("LGBTQ+"),
    "veterans": N_("Veterans and military"),
    "domestic-violence": N_("Domestic violence"),
    "housing": N_("Housing"),
    "food": N_("Food"),
    "legal": N_("Legal help"),
    "employment": N_("Employment"),
}
# The chips under the search box: the needs mentors reach for most.
CHIPS = (
    "crisis",
    "mental-health",
    "substance-use",
    "peer-support",
    "support-groups",
    "youth",
    "housing",
    "veterans",
    "lgbtq",
    "domestic-violence",
)
ACCESSIBILITY = {
    "wheelchair": N_("Wheelchair accessible"),
    "accessible-restroom": N_("Accessible restroom"),
    "accessible-parking": N_("Accessible parking"),
    "elevator": N_("Elevator"),
    "hearing-loop": N_("Hearing loop"),
    "sign-language-interpreter": N_("Sign language interpreter"),
    "tty": N_("TTY / relay"),
    "braille": N_("Braille"),
    "large-print": N_("Large print"),
    "service-animals": N_("Service animals welcome"),
    "public-transit": N_("Near public transit"),
    "sensory-friendly": N_("Sensory-friendly space"),
    "gender-neutral-restroom": N_("Gender-neutral restroom"),
}
COSTS = {
    "free": N_("Free"),
    "sliding-scale": N_("Sliding scale"),
    "medicaid": N_("Medicaid"),
    "medicare": N_("Medicare"),
    "private-insurance": N_("Private insurance"),
    "self-pay": N_("Self-pay"),
}
# The languages offered as a filter (any ISO 639 code works in the URL).
LANGUAGES = ("en", "es", "ht", "vi", "zh", "ar", "fr", "pt", "ru", "ko", "tl", "ase")
STATUSES = {
    "requested": N_("Requested"),
    "accepted": N_("Accepted"),
    "rejected": N_("Declined by the service"),
    "cancelled": N_("Cancelled"),
    "in-progress": N_("In progress"),
    "on-hold": N_("On hold"),
    "completed": N_("Connected"),
    "failed": N_("Not connected"),
    "entered-in-error": N_("Entered in error"),
}
OUTCOMES = {
    "got-help": N_("Got help"),
    "enrolled": N_("Enrolled"),
    "referred-elsewhere": N_("Referred elsewhere"),
    "could-not-contact": N_("Could not contact"),
    "not-eligible": N_("Not eligible"),
    "no-capacity": N_("No capacity"),
    "no-show": N_("Did not show up"),
    "no-longer-interested": N_("No longer interested"),
    "other": N_("Other"),
}
SUB_STATUSES = {
    "appointment-scheduled": N_("Appointment set"),
    "waitlisted": N_("On a waitlist"),
    "appointment-missed": N_("Appointment missed"),
    "needs-mentee-action": N_("Waiting on the mentee"),
}
CONTACT_PREFERENCES = {
    "mentee-will-contact": N_("The mentee will contact the service"),
    "mentor-will-contact": N_("I will contact the service with the mentee"),
    "service-may-contact": N_("The service may contact the mentee"),
    "do-not-contact": N_("Nobody contacts the mentee"),
}
CHANNELS = {
    "phone": N_("Phone"),
    "text": N_("Text message"),
    "email": N_("Email"),
    "in-person": N_("In person"),
    "video": N_("Video"),
    "other": N_("Other"),
}
EVENTS = {
    "status": N_("Status"),
    "contact-attempt": N_("Contact attempt"),
    "sub-status": N_("Progress"),
    "follow-up": N_("Next follow-up"),
    "note": N_("Note"),
}
# A listing's capacity as cards and its page say it; "unknown" says nothing.
CAPACITY = {
    "accepting": N_("Accepting new clients"),
    "waitlist": N_("Waitlist"),
    "full": N_("Not accepting new clients right now"),
}
# A listing's fields as a coordinator reads them (a diff, a conflict, a queued suggestion).
LISTING_FIELDS = {
    "name": N_("Name"),
    "alternate_name": N_("Other name"),
    "description": N_("Description"),
    "url": N_("Website"),
    "email": N_("Email"),
    "status": N_("Status"),
    "interpretation_services": N_("Interpretation"),
    "application_process": N_("How to apply"),
    "fees_description": N_("Fees"),
    "eligibility_description": N_("Who is eligible"),
    "minimum_age": N_("Minimum age"),
    "maximum_age": N_("Maximum age"),
    "alert": N_("Alert"),
    "capacity_status": N_("Capacity"),
    "needs": N_("Needs"),
    "languages": N_("Languages"),
    "phones": N_("Phones"),
    "service_areas": N_("Service areas"),
    "cost_options": N_("Costs"),
    "schedules": N_("Hours"),
    "locations": N_("Sites"),
}
# How a listing was last checked: the choices (console), and the words after "Verified ...".
VERIFY_METHODS = {
    "phone": N_("Phone call"),
    "website": N_("Website"),
    "email": N_("Email"),
    "visit": N_("Visit"),
}
VERIFIED_HOW = {
    "phone": N_("by a phone call"),
    "website": N_("on its website"),
    "email": N_("by email"),
    "visit": N_("by a visit"),
    "import": N_("from its source's file"),
}
PROBLEMS = {
    "wrong-number": N_("Wrong phone number"),
    "closed": N_("Closed or no longer offered"),
    "full": N_("Full, not taking new clients"),
    "other": N_("Something else"),
}
DOMAIN_MESSAGES = (
    N_("at least 10 characters"),
    N_("at most 200 characters"),
    N_("not your email address"),
    N_("mentee_ref must be the program's code, not an email address"),
    N_("mentee_ref must be the program's code: 3-40 letters, digits, '-' or '_', no spaces"),
    N_("mentee_ref must contain a digit (a code, not a name)"),
    N_("mentee_ref has at most 6 digits (it must not be a phone number)"),
    N_("mentee_ref has no run of 5 letters or more (it must not be a name)"),
    N_("follow_up_at must be in the future"),
    N_("consent.expires_at must come after obtained_at"),
    N_("say what is wrong"),
    N_("at most 1000 characters"),
    N_("choose the capacity"),
    N_("a fix goes with resolving the report"),
    N_("edits go with an approval"),
    N_("suggest at least one change"),
    N_("the consent has expired: a referral needs consent still in force"),
)
ROLES = {
    "mentor": N_("Mentor"),
    "coordinator": N_("Coordinator"),
    "admin": N_("Administrator"),
}
DAYS = {
    "MO": N_("Monday"),
    "TU": N_("Tuesday"),
    "WE": N_("Wednesday"),
    "TH": N_("Thursday"),
    "FR": N_("Friday"),
    "SA": N_("Saturday"),
    "SU": N_("Sunday"),
}
ERROR_TITLES = {
    401: N_("Please sign in"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not found"),
    409: N_("This changed meanwhile"),
    422: N_("Something is not right"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
}
FORM_REFUSED = N_(
    "This form has expired or did not come from this site. Go back, reload the page and try again."
)
ERROR_DETAILS = (
    N_("the address is not valid"),
    N_("something went wrong on our side"),
)
SERVICE_STATUSES = {
    "active": N_("active"),
    "inactive": N_("inactive"),
    "defunct": N_("closed for good"),
    "temporarily closed": N_("temporarily closed"),
}
CHOOSE_ONE = N_("Choose one of the options.")
REQUIRED = N_("This is required.")
TOO_LONG = N_("This is too long.")
NOT_A_DATE = N_("Not a valid date.")
DATE_TOO_OLD = N_("This date is too long ago: check the year.")
DATE_TOO_FAR = N_("This date is too far ahead: check the year.")
ALREADY_SENT = N_("This referral was sent already: here it is.")
RELOAD = N_("This page is out of date: reload it and try again.")
# Refusals of the referral service, by the field they are about (the service's own words are
# English and carry values; these say the same to the person, in their language).
REFUSED = {
    "to": N_("That step is not possible for this referral now. Reload the page to see its steps."),
    "reason": N_("Give a reason for this step."),
    "outcome": N_("Choose the outcome that fits this step."),
    "next_at": N_("The next follow-up must be in the future."),
}
CODE_PATTERN = N_("The mentee code does not look like your program's codes (%(pattern)s).")
ATTEMPTS_FIRST = N_("Log at least %(count)s contact attempts before closing as could not contact.")
CLOSED = N_("This referral is closed: it takes no more steps.")
