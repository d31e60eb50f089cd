use moderato::classifier::*;
fn main() {
    let ex = read_labelled_file(std::path::Path::new("../shared/data/sms_test.tsv")).unwrap();
    let texts: Vec<String> = ex.into_iter().map(|e| e.text).collect();
    let model = Model::embedded_default().unwrap();
    let seconds: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(5.0);
    let start = std::time::Instant::now();
    let mut n = 0u64;
    let mut sum = 0.0;
    while start.elapsed().as_secs_f64() < seconds {
        for t in &texts {
            let s = model.score(t);
            sum += s.probability;
            n += 1;
        }
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "{:.0} comments/s ({:.0} ns each) {sum}",
        n as f64 / el,
        el * 1e9 / n as f64
    );
}
