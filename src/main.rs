fn main() {
    println!("rigbench: under construction");
}
