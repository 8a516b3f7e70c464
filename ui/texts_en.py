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
    "search.by_photo_label": "A photo ({formats}): find the gallery's photos that look like it",
    "search.add": "Add your own photos",
    "search.add_label": "Photos ({formats})",
    "search.add_button": "Add to your uploads",
    "search.description": ("What these photos show (optional): kept with each photo, and a child it names "
                           "withholds the photo where the law asks"),
    "search.consent": "I hold the consent of the parents or guardians of any child shown",
    "search.consent_help": ("Recorded with each photo; honoured only in markets whose law lets a parental "
                            "consent release a photo."),
    "details.recorded": "Recorded with the photo:",
    "search.filter_help": ("Words to search for, with filters if wanted: -word leaves out photos with that "
                           'word, camera:"EOS 5D", lens:50mm, taken:2019..2021 (or taken:2019-07), '
                           "place:Norway, sort:date (newest first) and min:0.6 (the least score). A photo "
                           "without the fact a filter asks about is left out."),
    "search.uploads_note": ("Photos you add go to “Your uploads”, which only you can see and search, "
                            "in this browser tab: not other visitors, not a link you share. Each is "
                            "deleted, with its search vector, {hours:g} h after you add it (reloading "
                            "the page starts afresh). Up to {photos} photos and {mb} MB at a time, "
                            "{file_mb} MB per photo. Accepted: {formats}; camera RAW files (.cr2, "
                            ".nef, .arw, .dng…): export them as JPEG or TIFF first."),
    "search.market_free": "Market: {name} · the child-photo rule does not apply here.",
    "search.market_rule": "Market: {name} · photos that may show a child are withheld; {consent}.",
    "search.market_consent": "a recorded parental consent releases a photo",
    "search.market_no_consent": "recorded consent does not release photos",
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
    # Dataset explorer
    "explore.title": "Dataset explorer",
    "explore.intro": (
        "Each training pair is a query and a photo, scored 1–4 by three experts and yes/no by crowd "
        "workers. The target the models learn is 0.6 × the expert majority (mapped to 0–1) + 0.4 × the "
        "crowd's share of *yes*, or the expert score alone where no crowd votes exist."),
    "explore.text": "Query text contains",
    "explore.text_placeholder": "e.g. dog beach",
    "explore.votes": "Expert majority vote",
    "explore.votes_placeholder": "All votes",
    "explore.agreement": "Expert agreement",
    "choice.Any": "Any",
    "choice.All 3 agree": "All 3 agree",
    "choice.2 of 3 agree": "2 of 3 agree",
    "choice.Shuffled": "Shuffled",
    "choice.Target: high to low": "Target: high to low",
    "choice.Target: low to high": "Target: low to high",
    "choice.Photo name": "Photo name",
    "vote.1": "1 · no match",
    "vote.2": "2 · major errors",
    "vote.3": "3 · minor errors",
    "vote.4": "4 · full match",
    "explore.matching": "{shown} of {total} pairs match.",
    "explore.none": "No pair matches these filters.",
    "explore.photos": "Photos",
    "explore.table": "Table",
    "explore.untrained": "Photos appear here once the model is trained: each photo is first checked for "
                         "children. Build the model with `{command}`.",
    "explore.order": "Order",
    "explore.page": "Page (of {pages})",
    "explore.charts": "Votes and targets",
    "explore.dropped": "What aggregation dropped",
    "explore.kept": "Of {pairs} expert-judged pairs, {kept} were kept.",
    "explore.crowd": "Crowd file: {pairs} pairs rated.",
    # Model comparison
    "compare.title": "Model comparison",
    "compare.intro": (
        "Which model predicts best how well a photo matches a description? Each model is fitted on "
        "four fifths of the practicum photos and scored on the rest, over five random splits (no photo "
        "is on both sides of a split, but one photo can be tested in several); bars show the mean and "
        "the error bars the spread across splits. Each figure says whether it is **clean** (it never "
        "guided a choice) or a **selection** figure (it guided one, so it flatters what it chose)."),
    "compare.produced": "Metrics produced {produced} · {source}",
    "compare.linear": "Linear regression vs neural network",
    "compare.no_relevance": "This metrics file has no relevance results; rerun the evaluation to add them.",
    "compare.zero_shot": "Zero-shot reference: the two-tower similarity, trained on captions only (no expert "
                         "data), agrees with the mean expert score at Kendall tau-c {tau}. ",
    "compare.rmse_note": "RMSE and MAE on the 0–1 target (lower is better); std: spread of the RMSE over "
                         "the 5 splits; τc: Kendall tau-c rank agreement with the target (higher is "
                         "better). ",
    "compare.search": "Search quality",
    "compare.no_retrieval": "This metrics file has no retrieval results; rerun the evaluation to add them.",
    "compare.recall_note": "R@k (%): share of descriptions whose own photo is among the first k results; "
                           "MRR: mean reciprocal rank of that photo. ",
    "compare.encoders": "Encoders: frozen, joined and fine-tuned on captions",
    "compare.no_encoders": "No encoder comparison yet; each row is made by `python -m lab ablate LABEL`.",
    "compare.encoders_note": (
        "Each row measured the same way on training data only (retrieval over 1,000 held-out "
        "extra-corpus photos and over the practicum test photos, CV RMSE over 5 splits, zero-shot "
        "tau-c, the child head's out-of-sample figures, indexing speed on 2 CPU cores). These are "
        "selection figures: they chose the encoders in use; holdout, above, was read once for "
        "the chosen ones."),
    "compare.legal": "Legal checks",
    "compare.shifts_note": "The child check on holdout photos changed the way a host's photos differ from "
                           "the training copies, one shift at a time. ",
    "compare.classifiers_note": "Child-photo classifiers compared on training photos only (out of fold), "
                                "each at the threshold it chose for recall ≥ 0.98 at 95% confidence: the "
                                "first is in use. ",
    "compare.settings": "Evaluation settings",
    # ui/dataset.py: tables and lines of votes
    "drop.no_majority": "No majority: the three experts gave three different scores",
    "drop.no_text": "Query text not found in train_dataset.csv",
    "drop.reason": "Reason",
    "drop.pairs": "Pairs dropped",
    "target.blend": "Expert majority and crowd share (0.6 · expert + 0.4 · crowd)",
    "target.experts": "Expert majority only (no crowd votes for the pair)",
    "target.target": "Target",
    "target.pairs": "Pairs",
    "votes.pair": "Experts {experts} → {majority} | {crowd} | target {target}",
    "votes.crowd_share": "crowd {share}",
    "votes.no_crowd": "no crowd votes",
    "votes.no_experts": "no expert votes",
    "votes.experts": "Experts {votes} (of 1–4)",
    "votes.crowd": "crowd {yes} of {asked} said yes ({share})",
    "votes.target": "target {target}",
    "judged.query": "query",
    "judged.experts": "experts (1–4)",
    "judged.crowd": "crowd share",
    "judged.target": "target",
    # ui/charts.py: figures and tables of figures
    "chart.model": "Model",
    "chart.rmse_title": "RMSE per model (mean ± std)",
    "chart.rmse_axis": "RMSE (lower is better)",
    "chart.recall_axis": "described photo in the top k",
    "chart.set": "Evaluation set",
    "split.practicum_test": "Practicum test",
    "split.holdout": "Holdout",
    "family.baseline": "baseline",
    "family.linear": "linear",
    "family.neural network": "neural network",
    "verdict.tie": "Linear regression and the neural network are within each other's error bars "
                   "{figures}: on the same features, neither is clearly better.",
    "verdict.neural": "The neural network beats linear regression beyond the error bars {figures}.",
    "verdict.linear": "Linear regression beats the neural network beyond the error bars {figures}.",
    "verdict.lowest": " Lowest RMSE overall: {model}.",
    "chart.every_vote": "Every expert vote",
    "chart.majority": "Majority vote per pair",
    "chart.votes_title": "Expert votes per score",
    "chart.votes_axis": "votes",
    "chart.blend": "Expert + crowd",
    "chart.experts_only": "Expert only",
    "chart.target_title": "Combined target",
    "chart.target_axis": "target (0 no match, 1 match)",
    "chart.pairs": "pairs",
    "model.constant": "Constant (mean)",
    "model.linear_concat": "Linear regression",
    "model.mlp_concat": "Neural network (MLP)",
    "model.two_tower": "Two-tower",
    "model.two_tower_mlp": "Two-tower + MLP",
}
