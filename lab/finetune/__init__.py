"""Fine-tuning the project's own weights under models/: the photo networks (`photo`, from a
`pack` of inputs with augmented `views`) and MiniLM's last layers (`text`)."""
