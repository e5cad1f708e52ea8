# Driver (not part of doseflow): the authors' run_sim (commit be7c604) for Science Fig. 3B/C, with
# each day's doses given as K equal pulses at t = 0, 1/K, 2/K, ... instead of one pulse at the
# start of the day (the only change: two lines of run_sim edited as text below). As K grows the
# doses are spread evenly over each day, as doseflow's rollouts give them.
# Usage: Rscript fig3_spread.R 5,10,...,50 K out.csv [current]   (from a folder holding the
# authors' files). With "current", a day's doses are also split over the strategy's bands in
# proportion to their eligible people at that moment, as doseflow does, instead of at day 0
# (one line of move_vaccinated_event replaced).
country <- "USA"
args <- commandArgs(trailingOnly = TRUE)
K <- as.numeric(args[2])
src <- readLines("run_sim.R")
src <- sub("num_perday=num_perday, vax_proportion", "num_perday=num_perday/K, vax_proportion",
           src, fixed = TRUE)
src <- sub("to=floor(vax_supply/(num_perday*pop_total)), by=1)",
           "to=floor(vax_supply/(num_perday/K*pop_total)), by=1)/K", src, fixed = TRUE)
eval(parse(text = src))
source("helper_functions.R"); source("setup_params.R")
if (length(args) > 3 && args[4] == "current") {
  h <- deparse(move_vaccinated_event)
  i <- grep("vax_distribution <- nvax * vax_proportion", h, fixed = TRUE)[1]
  h[i] <- paste("elig_now <- (S + E) * sp + R * (1 - se); vp <- rep(0, num_groups);",
                "vp[groups] <- elig_now[groups] / sum(elig_now[groups]);",
                "vax_distribution <- nvax * vp")
  move_vaccinated_event <- eval(parse(text = h))
}
supplies <- as.integer(strsplit(args[1], ",")[[1]])
out <- data.frame()
for (scen in c("1.15", "1.5")) {
  this_C <- if (scen == "1.15") C_115 else C_15
  for (ve_name in c("constant", "age")) {
    ve <- if (ve_name == "constant") this_v_e else v_e_var
    base <- compute_total_deaths_new(run_sim(this_C, 0, "all", num_perday, v_e_type, ve))
    for (strat in c("kids", "adults", "elderly", "twentyplus", "all")) {
      for (s in supplies) {
        d <- compute_total_deaths_new(run_sim(this_C, s/100, strat, num_perday, v_e_type, ve))
        out <- rbind(out, data.frame(r0 = scen, ve = ve_name, strategy = strat, supply = s,
                                     reduction = (1 - d/base)*100))
      }
    }
  }
}
write.csv(out, args[3], row.names = FALSE)
