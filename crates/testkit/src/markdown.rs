//! Reading the project's Markdown documentation in tests that check it against the code.

/// A fenced code block: its info string (the language, `""` when none) and its lines, each
/// with its leading white space removed.
pub type CodeBlock = (String, Vec<String>);

/// The fenced code blocks of `markdown`, in order; `None` when a block is never closed.
pub fn fenced_blocks(markdown: &str) -> Option<Vec<CodeBlock>> {
    let mut blocks = Vec::new();
    let mut current: Option<CodeBlock> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some((info.trim().to_owned(), Vec::new())),
            }
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(trimmed.to_owned());
        }
    }
    current.is_none().then_some(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_with_their_language_and_unindented_lines() {
        let doc = "text\n```bash\n  cargo test\nls\n```\nmore\n```\nplain\n```\n";
        let blocks = fenced_blocks(doc).expect("closed");
        assert_eq!(
            blocks,
            vec![
                (
                    "bash".to_owned(),
                    vec!["cargo test".to_owned(), "ls".to_owned()]
                ),
                (String::new(), vec!["plain".to_owned()]),
            ]
        );
        assert_eq!(fenced_blocks("```sh\nopen\n"), None);
        assert_eq!(fenced_blocks("no code"), Some(Vec::new()));
    }
}
