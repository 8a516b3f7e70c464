"""The pages' own labels in English, by key: titles, widget labels, help texts, captions and
messages (ui.texts_ru has the same keys in Russian; ui.lang picks the visitor's). Shared
sentences and those built by code live in ui.wording. ``{name}`` marks a value filled in with
str.format; a person's text never goes into one of these (pages show it with st.text).
"""

from __future__ import annotations

TEXT: dict[str, str] = {
    # app.py: the browser tab, the navigation and the language switch
    "app.title": "With Sense · photo search",
    "nav.home": "Home",
    "nav.search": "Search",
    "nav.compare": "Model comparison",
    "nav.explore": "Dataset explorer",
    "app.language": "Language",
    # what pages/_shared.py shows while a cache fills
    "load.model": "Loading the model…",
    "load.index": "Loading the photo index…",
    "load.details": "Reading the dataset's captions and votes…",
    "load.dataset": "Reading the dataset…",
    "load.match": "Drawing where each photo matched…",
    "load.engine": "Loading the search engine…",
    # Home
    "home.intro": (
        "Describe a scene in plain English and With Sense finds the photos that match it, each with a "
        "0–1 relevance score. Behind it is a two-tower model that places sentences and photos in one "
        "space, trained on Flickr8k captions and calibrated on expert and crowd judgements."),
    "home.how": "How to use this demo",
    "home.search_link": "**Search**",
    "home.search_what": "Type a description or pick an example; choose the photo gallery and how many "
                        "results to show.",
    "home.compare_link": "**Model comparison**",
    "home.compare_what": "Linear regression vs neural networks: RMSE with error bars over five splits, "
                         "and search recall.",
    "home.explore_link": "**Dataset explorer**",
    "home.explore_what": "Browse the judged query–photo pairs, their expert and crowd votes and the "
                         "training target.",
    "home.dataset": "The dataset",
    "home.photos": "Photos",
    "home.photos_help": "{train} training photos and {test} test photos",
    "home.pairs": "Query–photo pairs judged",
    "home.pairs_help": "Pairs scored 1–4 by three experts each",
    "home.kept": "Pairs kept after aggregation",
    "home.kept_help": "Pairs where at least two of the three experts agree, with a known query text",
    "home.votes": "Votes kept",
    "home.votes_help": "{experts} expert votes and {crowd} crowd votes behind the kept pairs",
    "home.dataset_note": (
        "{queries} distinct queries. {dropped} pairs were dropped ({no_majority} without an expert "
        "majority, {no_text} without query text); {with_crowd} of the kept pairs also have crowd "
        "votes. See the Dataset explorer for details."),
    "home.model": "The model in use",
    "home.property": "Property",
    "home.value": "Value",
    # Search
    "search.title": "Search photos",
    "search.query": "Describe the photo you are looking for, in English",
    "search.placeholder": "e.g. two dogs running on snow",
    "search.gallery": "Photo gallery",
    "search.gallery_help": "Which indexed photos to search: all photos, the practicum test or train "
                           "photos, or your uploads.",
    "search.top_k": "Top K",
    "search.top_k_help": "How many photos to show",
    "search.example_help": "Search for “{example}”",
    "search.button": "Search",
    "search.by_photo": "Search with a photo of your own",
    "search.by_photo_label": "A JPEG, PNG or WebP photo: find the gallery's photos that look like it",
    "search.add": "Add your own photos",
    "search.add_label": "JPEG, PNG or WebP photos",
    "search.add_button": "Add to the Uploads gallery",
    "search.encoding": "Checking and encoding photos…",
    "search.encoded": "Encoded {done} of {total}",
    "search.done": "Done",
    "search.skipped": "Skipped {name}: {reason}",
    "search.start": "Type a description above, pick one of the examples, or search with a photo.",
    "search.query_photo": "Query photo",
    "search.back": "Back to text search",
    "search.nothing": "No photos to show for this search.",
    "search.copy_link": "Copy link",
    "search.link_note": "This address reopens the same search (copy button on the right):",
    "search.csv": "Download results (CSV)",
    "search.explain": "Why this photo",
    "search.missing": "This photo is missing on disk.",
    "search.result": "Result {rank}",
    "search.score": "**#{rank}** · Score **{score}**",
    "search.similar": "Similar photos",
    "search.details": "Details",
    "details.not_dataset": "Not a dataset photo: no captions or votes.",
    "details.source": "From the {source} photos. Captions:",
    "details.no_captions": "No captions.",
    "details.judged": "This query–photo pair was judged: {votes}",
    "details.not_judged": "This query–photo pair was not judged in the dataset.",
    "details.others": "Queries judged against this photo ({count}):",
    # ui/links.py: a value of an opened link that was set aside
    "link.bad_gallery": "The link names a gallery “{gallery}” that does not exist here; showing the "
                        "{default!r} gallery instead.",
    "link.bad_k": "The link asks for {raw!r} results; it must be a whole number from 1 to {max_k}, so "
                  "{default_k} are shown.",
    "link.bad_mode": "The link's mode {mode!r} is unknown (it can be {text!r} or {like!r}); it is read as "
                     "a text search.",
    "link.bad_photo": "The link's photo is missing or is not a photo name; it is read as a text search.",
    "link.bad_query": "The link's search text was set aside: {why}",
}
