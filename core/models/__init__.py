"""Models: relevance between a text and a photo vector, in scikit-learn's style. The two-tower
model and its calibration to a 0..1 score (`two_tower`), the baselines it is measured against
(`baselines`), and the fitted check they share (`estimators`)."""
