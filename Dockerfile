# The selmount image: one static binary, nothing else. Built offline (no base
# image to pull) by hack/image.sh, which first builds bin/image/selmount with
# CGO_ENABLED=0; `docker build .` works the same after that step.
FROM scratch
COPY bin/image/selmount /selmount
# nonroot, as in distroless images; the Deployment also sets runAsNonRoot.
USER 65532:65532
ENTRYPOINT ["/selmount"]
CMD ["controller"]
