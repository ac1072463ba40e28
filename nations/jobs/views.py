from django.shortcuts import get_object_or_404, render

from nations.panel.access import staff_required

from .models import Job


@staff_required()
def job_list(request):
    jobs = Job.objects.all()[:100]
    return render(request, "jobs/job_list.html", {"jobs": jobs, "section": "dashboard"})


@staff_required()
def job_detail(request, job_id: int):
    job = get_object_or_404(Job, pk=job_id)
    template = "jobs/_progress.html" if request.htmx else "jobs/job_detail.html"
    return render(request, template, {"job": job, "section": "dashboard"})
