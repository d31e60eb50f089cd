//! Labelled example files: the TSV (`label<TAB>text`) and YouTube CSV
//! (`CONTENT`, `CLASS` columns) of the shared corpora, and the product's own
//! JSON Lines format (`{"text": ..., "label": "spam"}` per line).
//!
//! Each example knows the hosts of the site it was posted on when the file
//! says: YouTube's for the YouTube CSV; for a JSON line, its `site_id` when
//! that is a host name and the host names its `hosts` lists (an export
//! carries those its site's rules table listed); none for the TSV (text
//! messages are on no site).

use std::path::Path;

use serde::Deserialize;

use super::{ClassifierError, SiteHosts};
use crate::domain::Label;

/// One labelled comment. `group` is the thread it came from when the file
/// says (the video of a YouTube comment), for grouped cross-validation;
/// `site` the hosts of the site it was posted on, when known (links to
/// them are no sign of spam).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledExample {
    pub text: String,
    pub label: Label,
    pub group: Option<String>,
    /// The title of the post the comment sits under, when the data gives
    /// it (a YouTube video's name): `eval` sends it as a site would, in
    /// `context.post_title`, for the rules that read it. The model does
    /// not read it.
    pub post_title: Option<String>,
    pub site: SiteHosts,
}

/// Reads a labelled file, recognising its format by its first line.
pub fn read_labelled_file(path: &Path) -> Result<Vec<LabelledExample>, ClassifierError> {
    let bytes = std::fs::read(path).map_err(|source| ClassifierError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // Bytes that are not UTF-8 are named by their line, so that one bad
    // byte in a file of thousands of lines can be found.
    let content = String::from_utf8(bytes).map_err(|error| {
        let lone_carriage_returns = lone_carriage_returns_end_lines(error.as_bytes());
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        ClassifierError::DataFormat {
            path: path.to_path_buf(),
            // Lines end with LF or CRLF, or with lone CRs in a file whose
            // lines end so, as the readers below count them.
            line: 1 + valid
                .iter()
                .enumerate()
                .filter(|&(at, &byte)| {
                    byte == b'\n'
                        || (lone_carriage_returns
                            && byte == b'\r'
                            && valid.get(at + 1) != Some(&b'\n'))
                })
                .count() as u64,
            message: format!(
                "not UTF-8 text (byte {} of the file cannot start or continue a character)",
                valid.len() + 1
            ),
        }
    })?;
    // A byte-order mark (some editors write one) is no part of the data.
    let content = content.strip_prefix('\u{feff}').unwrap_or(&content);
    let content = with_lone_carriage_returns_as_line_feeds(content);
    let content = content.as_ref();
    let first_line = content.lines().next().unwrap_or("");
    // JSON Lines skip blank lines anywhere, the first ones too.
    let first_filled_line = content.lines().find(|line| !line.trim().is_empty());
    if first_line.starts_with("label\t") {
        parse_tsv(path, content)
    } else if first_filled_line.is_some_and(|line| line.trim_start().starts_with('{')) {
        parse_json_lines(path, content)
    } else if first_line
        .split(',')
        // Exporters often quote every header, and may leave a CR.
        .any(|column| column.trim().trim_matches('"') == "CONTENT")
    {
        parse_youtube_csv(path, content)
    } else {
        Err(format_error(
            path,
            1,
            "unrecognised header: expected `label<TAB>text`, a CSV with CONTENT and CLASS columns, or JSON Lines",
        ))
    }
}

/// The text with each carriage return that is not before a line feed made
/// a line feed, when such carriage returns are what end its lines.
/// Spreadsheets on older Macs end lines with a carriage return alone, and
/// an editor may add a line feed at the end or a header may end with both:
/// read line by line as it is, such a file is one line, the header and no
/// example, or one example holding every row. A file whose lines end with
/// line feeds keeps a stray carriage return inside a text as text. (In a
/// quoted CSV field a line feed reads as the same white space.)
fn with_lone_carriage_returns_as_line_feeds(content: &str) -> std::borrow::Cow<'_, str> {
    if !lone_carriage_returns_end_lines(content.as_bytes()) {
        return std::borrow::Cow::Borrowed(content);
    }
    let mut lines = String::with_capacity(content.len());
    let mut characters = content.chars().peekable();
    while let Some(character) = characters.next() {
        if character == '\r' && characters.peek() != Some(&'\n') {
            lines.push('\n');
        } else {
            lines.push(character);
        }
    }
    std::borrow::Cow::Owned(lines)
}

/// Whether a file's lines end with lone carriage returns: it has some, and
/// line feeds only where they may also be, ending the header (before the
/// first lone carriage return) and the file; any other line feed says
/// lines end with line feeds, and a lone carriage return is then text.
fn lone_carriage_returns_end_lines(bytes: &[u8]) -> bool {
    let is_lone = |index: usize| bytes[index] == b'\r' && bytes.get(index + 1) != Some(&b'\n');
    let Some(first_lone) = (0..bytes.len()).find(|index| is_lone(*index)) else {
        return false;
    };
    let line_feeds = bytes.iter().filter(|byte| **byte == b'\n').count();
    let header_feed = bytes[..first_lone].contains(&b'\n');
    let final_feed = bytes.ends_with(b"\n");
    line_feeds <= usize::from(header_feed) + usize::from(final_feed)
}

fn format_error(path: &Path, line: u64, message: impl Into<String>) -> ClassifierError {
    ClassifierError::DataFormat {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

fn parse_label(path: &Path, line: u64, text: &str) -> Result<Label, ClassifierError> {
    match text.trim() {
        "ham" | "0" => Ok(Label::Ham),
        "spam" | "1" => Ok(Label::Spam),
        other => Err(format_error(
            path,
            line,
            format!("label {other:?} is neither ham nor spam"),
        )),
    }
}

fn parse_tsv(path: &Path, content: &str) -> Result<Vec<LabelledExample>, ClassifierError> {
    let mut examples = Vec::new();
    for (index, line) in content.lines().enumerate().skip(1) {
        let line_number = index as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        // Texts are not quoted and may contain tabs: only the first tab splits.
        let (label, text) = line
            .split_once('\t')
            .ok_or_else(|| format_error(path, line_number, "no tab between label and text"))?;
        examples.push(LabelledExample {
            text: text.to_string(),
            label: parse_label(path, line_number, label)?,
            group: None,
            post_title: None,
            site: SiteHosts::default(),
        });
    }
    Ok(examples)
}

fn parse_youtube_csv(path: &Path, content: &str) -> Result<Vec<LabelledExample>, ClassifierError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(content.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| format_error(path, 1, error.to_string()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header == name)
            .ok_or_else(|| format_error(path, 1, format!("no {name} column")))
    };
    let content_column = column("CONTENT")?;
    let class_column = column("CLASS")?;
    let video_column = headers.iter().position(|header| header == "VIDEO_NAME");
    let mut examples = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| {
            let line = error.position().map_or(0, |position| position.line());
            format_error(path, line, error.to_string())
        })?;
        let line = record.position().map_or(0, |position| position.line());
        let field = |index: usize| record.get(index).unwrap_or("");
        examples.push(LabelledExample {
            text: field(content_column).to_string(),
            label: parse_label(path, line, field(class_column))?,
            group: video_column.map(|index| field(index).to_string()),
            post_title: video_column.map(|index| field(index).to_string()),
            // The format is the YouTube Spam Collection's: comments posted
            // on YouTube.
            site: SiteHosts::youtube(),
        });
    }
    Ok(examples)
}

/// A row needs `text` and `label` (operations.md); `group`, `site_id`,
/// `hosts` and `post_title` are optional, and `group` is read leniently, since files from
/// other tools may number their threads or put anything there.
#[derive(Deserialize)]
struct JsonLine {
    text: String,
    label: String,
    #[serde(default)]
    group: Option<serde_json::Value>,
    /// The site the comment was posted on (exports carry it): links to it
    /// are no sign of spam when it is a host name.
    #[serde(default)]
    site_id: Option<String>,
    /// The site's other host names (exports carry those its rules table
    /// lists): links to them are no sign of spam either. `null` is none;
    /// anything but a list of host names refuses the file, since a list
    /// read in part would silently change what the model learns.
    #[serde(default)]
    hosts: Option<Vec<String>>,
    /// The title of the post the comment was under (see
    /// [`LabelledExample::post_title`]).
    #[serde(default)]
    post_title: Option<String>,
}

/// The group of a JSON Lines row: a string as it is, a number as its
/// decimal text (a thread numbered 42 is the group "42"), and anything
/// else (a list, an object, `true`) as no group rather than a refusal of
/// the whole file.
fn group_of(value: Option<serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(group) => Some(group),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A row's `hosts`, each a host name read as links are (see
/// [`crate::domain::host_name`]), at most as many as a site's rules table
/// may list: a file that says otherwise is refused naming the line, as
/// the configuration refuses such a list, rather than trained on with
/// some of its hosts silently dropped.
fn checked_hosts(
    path: &Path,
    line_number: u64,
    hosts: &[String],
) -> Result<Vec<String>, ClassifierError> {
    use crate::domain::MAX_HOSTS_PER_SITE;
    if hosts.len() > MAX_HOSTS_PER_SITE {
        return Err(format_error(
            path,
            line_number,
            format!(
                "`hosts` lists {} host names; a site may list at most {MAX_HOSTS_PER_SITE}",
                hosts.len()
            ),
        ));
    }
    hosts
        .iter()
        .map(|host| {
            crate::domain::host_name(host).ok_or_else(|| {
                format_error(
                    path,
                    line_number,
                    format!(
                        "`hosts` holds {host:?}, which is not a host name such as news.example.com"
                    ),
                )
            })
        })
        .collect()
}

fn parse_json_lines(path: &Path, content: &str) -> Result<Vec<LabelledExample>, ClassifierError> {
    let mut examples = Vec::new();
    for (index, line) in content.lines().enumerate() {
        let line_number = index as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: JsonLine = serde_json::from_str(line)
            .map_err(|error| format_error(path, line_number, error.to_string()))?;
        let hosts = checked_hosts(
            path,
            line_number,
            parsed.hosts.as_deref().unwrap_or_default(),
        )?;
        examples.push(LabelledExample {
            text: parsed.text,
            label: parse_label(path, line_number, &parsed.label)?,
            group: group_of(parsed.group),
            post_title: parsed.post_title,
            site: SiteHosts::new(parsed.site_id.into_iter().chain(hosts)),
        });
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(content: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("data");
        std::fs::write(&path, content).unwrap();
        (directory, path)
    }

    #[test]
    fn bytes_that_are_not_utf8_are_named_by_their_line() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("data.tsv");
        std::fs::write(&path, b"label\ttext\nham\tfine\nspam\tbad \xff\xfe here\n").unwrap();
        let message = read_labelled_file(&path).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("{}:3: not UTF-8", path.display())),
            "{message}"
        );
        assert!(message.contains("byte 30 "), "{message}");
        // Lines that end with a lone carriage return count the same; in a
        // file whose lines end with line feeds, a stray one is text.
        for content in [
            &b"label\ttext\rham\tfine\rspam\tbad \xff\r"[..],
            b"label\ttext\nham\tfoo\rbar\nspam\tbad \xff\n",
        ] {
            std::fs::write(&path, content).unwrap();
            let message = read_labelled_file(&path).unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("{}:3: not UTF-8", path.display())),
                "{message}"
            );
        }
    }

    #[test]
    fn tsv_splits_at_the_first_tab_only() {
        let (_directory, path) = write("label\ttext\nspam\tWIN \"now\"\tcall\nham\tsee you\n");
        let examples = read_labelled_file(&path).unwrap();
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[0].text, "WIN \"now\"\tcall");
        assert_eq!(examples[0].label, Label::Spam);
        assert_eq!(examples[1].label, Label::Ham);
    }

    #[test]
    fn youtube_csv_handles_quotes_and_groups() {
        let (_directory, path) = write(
            "COMMENT_ID,AUTHOR,DATE,CONTENT,VIDEO_NAME,CLASS\n\
             a,b,c,\"Hey, \"\"check\"\" it\",PSY,1\n\
             d,e,f,nice song,KATY,0\n",
        );
        let examples = read_labelled_file(&path).unwrap();
        assert_eq!(examples[0].text, "Hey, \"check\" it");
        assert_eq!(examples[0].label, Label::Spam);
        assert_eq!(examples[0].group.as_deref(), Some("PSY"));
        // The video's name is the title of the post the comment was under.
        assert_eq!(examples[0].post_title.as_deref(), Some("PSY"));
        assert_eq!(examples[1].label, Label::Ham);
    }

    #[test]
    fn json_lines_are_read() {
        let (_directory, path) =
            write("{\"text\":\"hi\",\"label\":\"ham\"}\n{\"text\":\"buy\",\"label\":\"spam\"}\n");
        let examples = read_labelled_file(&path).unwrap();
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[1].label, Label::Spam);
        assert_eq!(examples[1].post_title, None);
        let (_directory, path) = write(
            "{\"text\":\"the bypass again\",\"label\":\"ham\",\"post_title\":\"Elm Street bypass\"}\n",
        );
        let examples = read_labelled_file(&path).unwrap();
        assert_eq!(examples[0].post_title.as_deref(), Some("Elm Street bypass"));
    }

    #[test]
    fn a_json_lines_rows_hosts_are_its_sites_and_bad_ones_refuse_the_file() {
        let (_directory, path) = write(
            "{\"text\":\"a\",\"label\":\"ham\",\"site_id\":\"blog-42\",\"hosts\":[\"WWW.Blog.Example.\"]}\n\
             {\"text\":\"b\",\"label\":\"spam\",\"site_id\":\"blog-43\",\"hosts\":null}\n",
        );
        let examples = read_labelled_file(&path).unwrap();
        // Read as links are: lower-cased, without `www.` or a trailing dot.
        // (`null` is no hosts.)
        assert!(examples[0].site.owns("blog.example"));
        assert!(examples[0].site.owns("news.blog.example"));
        assert!(!examples[1].site.owns("blog.example"));

        let (_directory, path) = write(
            "{\"text\":\"a\",\"label\":\"ham\"}\n\
             {\"text\":\"b\",\"label\":\"ham\",\"hosts\":[\"blog.example\",\"localhost\"]}\n",
        );
        let message = read_labelled_file(&path).unwrap_err().to_string();
        assert!(
            message.contains(":2") || message.contains("line 2"),
            "{message}"
        );
        assert!(
            message.contains("\"localhost\", which is not a host name"),
            "{message}"
        );

        let many: Vec<String> = (0..=crate::domain::MAX_HOSTS_PER_SITE)
            .map(|index| format!("\"h{index}.example\""))
            .collect();
        let (_directory, path) = write(&format!(
            "{{\"text\":\"a\",\"label\":\"ham\",\"hosts\":[{}]}}\n",
            many.join(",")
        ));
        let message = read_labelled_file(&path).unwrap_err().to_string();
        assert!(message.contains("at most 64"), "{message}");
    }

    #[test]
    fn a_json_lines_group_of_another_type_does_not_refuse_the_file() {
        let (_directory, path) = write(
            "{\"text\":\"a\",\"label\":\"ham\",\"group\":\"PSY\"}\n\
             {\"text\":\"b\",\"label\":\"spam\",\"group\":42}\n\
             {\"text\":\"c\",\"label\":\"ham\",\"group\":2.5}\n\
             {\"text\":\"d\",\"label\":\"ham\",\"group\":true}\n\
             {\"text\":\"e\",\"label\":\"spam\",\"group\":[1,2]}\n\
             {\"text\":\"f\",\"label\":\"ham\",\"group\":{\"id\":7}}\n\
             {\"text\":\"g\",\"label\":\"ham\",\"group\":null}\n\
             {\"text\":\"h\",\"label\":\"spam\"}\n",
        );
        let examples = read_labelled_file(&path).unwrap();
        let groups: Vec<Option<&str>> = examples
            .iter()
            .map(|example| example.group.as_deref())
            .collect();
        assert_eq!(
            groups,
            [
                Some("PSY"),
                Some("42"),
                Some("2.5"),
                None,
                None,
                None,
                None,
                None
            ]
        );
        assert_eq!(examples[1].label, Label::Spam);
        // A row without its text is still refused, naming its line.
        let (_directory, path) =
            write("{\"text\":\"a\",\"label\":\"ham\"}\n{\"label\":\"ham\",\"group\":1}\n");
        let error = read_labelled_file(&path).unwrap_err().to_string();
        assert!(error.contains(":2:"), "{error}");
    }

    #[test]
    fn a_byte_order_mark_is_no_part_of_any_format() {
        for content in [
            "\u{feff}{\"text\":\"hi\",\"label\":\"ham\"}\n",
            "\u{feff}label\ttext\nham\thi\n",
            "\u{feff}COMMENT_ID,CONTENT,CLASS\nc1,hi,0\n",
        ] {
            let (_directory, path) = write(content);
            let examples = read_labelled_file(&path).unwrap();
            assert_eq!(examples.len(), 1, "{content:?}");
            assert_eq!(examples[0].text, "hi");
        }
    }

    #[test]
    fn quoted_csv_headers_and_json_lines_after_blank_lines_are_recognised() {
        for content in [
            "\"COMMENT_ID\",\"CONTENT\",\"CLASS\"\r\n\"c1\",\"hi\",\"0\"\r\n",
            "COMMENT_ID,CLASS,CONTENT\r\nc1,0,hi\r\n",
            "\n  \n {\"text\":\"hi\",\"label\":\"ham\"}\n",
        ] {
            let (_directory, path) = write(content);
            let examples =
                read_labelled_file(&path).unwrap_or_else(|error| panic!("{content:?}: {error}"));
            assert_eq!(examples.len(), 1, "{content:?}");
            assert_eq!(examples[0].text, "hi");
            assert_eq!(examples[0].label, Label::Ham);
        }
    }

    #[test]
    fn lines_ended_by_a_carriage_return_alone_are_lines() {
        for content in [
            "label\ttext\rham\thi\rspam\twin now\r",
            "COMMENT_ID,CONTENT,CLASS\rc1,hi,0\rc2,win now,1\r",
            // A line feed an editor added at the end.
            "label\ttext\rham\thi\rspam\twin now\r\n",
            // A header ended by both, the rows by a carriage return.
            "label\ttext\r\nham\thi\rspam\twin now\r",
            "{\"text\":\"hi\",\"label\":\"ham\"}\r{\"text\":\"win now\",\"label\":\"spam\"}\r",
        ] {
            let (_directory, path) = write(content);
            let examples = read_labelled_file(&path).unwrap();
            assert_eq!(examples.len(), 2, "{content:?}");
            assert_eq!(examples[0].text, "hi");
            assert_eq!(examples[1].label, Label::Spam);
        }
        // In a file whose lines end with line feeds, a stray carriage
        // return is part of its text.
        let (_directory, path) = write("label\ttext\nham\thi\rthere\nspam\twin now\n");
        let examples = read_labelled_file(&path).unwrap();
        assert_eq!(examples.len(), 2);
        assert!(examples[0].text.starts_with("hi"), "{:?}", examples[0].text);
    }

    #[test]
    fn a_bad_label_names_file_and_line() {
        let (_directory, path) = write("label\ttext\nham\tok\nmaybe\tunsure\n");
        let error = read_labelled_file(&path).unwrap_err().to_string();
        assert!(error.contains(":3:"), "{error}");
        assert!(error.contains("maybe"), "{error}");
    }

    #[test]
    fn an_unknown_header_is_refused() {
        let (_directory, path) = write("hello world\n");
        assert!(matches!(
            read_labelled_file(&path),
            Err(ClassifierError::DataFormat { line: 1, .. })
        ));
    }
}
