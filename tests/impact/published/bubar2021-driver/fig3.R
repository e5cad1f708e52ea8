# Driver (not part of doseflow): runs the authors' run_sim (commit be7c604) for Science Fig. 3B/C
country <- "USA"
source("run_sim.R"); source("helper_functions.R"); source("setup_params.R")
args <- commandArgs(trailingOnly = TRUE)
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
write.csv(out, args[2], row.names = FALSE)
